# Unit tests for access.subject_jurisdiction_missing, run by `opa test policies/`.
# The table-driven cases in subject_jurisdiction_missing_test.yaml run on every engine.
package access.subject_jurisdiction_missing_test

import rego.v1

import data.access.subject_jurisdiction_missing

mei := {"id": "mei.chen", "location": "US", "employment": "employee"}

mk_input(classes, jurisdictions) := {"as_of": "2026-11-29", "group": {
	"id": "g1",
	"platform": "lark",
	"kind": "chat",
	"data_classes": classes,
	"subject_jurisdictions": jurisdictions,
	"owner": mei,
	"members": [mei],
}}

# inp with the group field `key` left out.
without(inp, key) := {"as_of": inp.as_of, "group": object.remove(inp.group, [key])}

test_sensitive_group_without_jurisdictions if {
	inp := without(mk_input(["user_pii"], ["US"]), "subject_jurisdictions")
	findings := subject_jurisdiction_missing.deny with input as inp
	count(findings) == 1
	some msg in findings
	contains(msg, "g1")
	contains(msg, "user_pii")
}

test_sensitive_group_with_empty_jurisdictions if {
	count(subject_jurisdiction_missing.deny) == 1 with input as mk_input(["government_id"], [])
}

test_several_sensitive_classes_give_one_finding if {
	count(subject_jurisdiction_missing.deny) == 1 with input as mk_input(["user_pii", "financial", "public"], [])
}

test_sensitive_group_with_jurisdictions if {
	count(subject_jurisdiction_missing.deny) == 0 with input as mk_input(["user_pii"], ["US"])
}

test_sensitive_group_with_global_users if {
	count(subject_jurisdiction_missing.deny) == 0 with input as mk_input(["biometric"], ["GLOBAL"])
}

test_non_sensitive_group if {
	count(subject_jurisdiction_missing.deny) == 0 with input as mk_input(["public", "internal"], [])
}

test_absent_data_classes_and_jurisdictions if {
	inp := without(without(mk_input([], []), "data_classes"), "subject_jurisdictions")
	count(subject_jurisdiction_missing.deny) == 0 with input as inp
}
