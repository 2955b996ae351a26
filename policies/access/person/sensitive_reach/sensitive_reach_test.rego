# Unit tests for access.person.sensitive_reach (a person-scope family, SPEC §3), run by
# `opa test policies/`. The table-driven cases in sensitive_reach_test.yaml run on every engine.
package access.person.sensitive_reach_test

import rego.v1

import data.access.person.sensitive_reach

group(id, classes) := {
	"id": id,
	"platform": "lark",
	"kind": "chat",
	"data_classes": classes,
	"subject_jurisdictions": ["US"],
	"owner": "mei.chen",
	"member_count": 4,
	"role": "member",
}

sensitive_groups(n) := [group(sprintf("g%d", [i]), ["user_pii"]) | some i in numbers.range(1, n)]

mk_input(groups) := {
	"as_of": "2026-11-29",
	"person": {"id": "li.wei", "location": "CN", "employment": "employee", "status": "active"},
	"groups": groups,
}

test_over_the_limit if {
	findings := sensitive_reach.warn with input as mk_input(sensitive_groups(13))
	count(findings) == 1
	some f in findings
	f.measure == 13
	startswith(f.msg, "li.wei is in 13 groups")
	contains(f.msg, "g1, g10, g11")
	object.keys(f) == {"msg", "measure"} # no group: the finding is about the person
}

test_on_the_limit if {
	count(sensitive_reach.warn) == 0 with input as mk_input(sensitive_groups(12))
}

test_non_sensitive_groups_do_not_count if {
	groups := array.concat(sensitive_groups(12), [group("plain", ["internal"]), group("none", [])])
	count(sensitive_reach.warn) == 0 with input as mk_input(groups)
}

test_limit_from_data if {
	count(sensitive_reach.warn) == 1 with input as mk_input(sensitive_groups(3))
		with data.max_sensitive_groups_per_person as 2
}
