# Unit tests for access.sensitive_group_size, run by `opa test policies/`. The
# table-driven cases in sensitive_group_size_test.yaml run on every engine.
package access.sensitive_group_size_test

import rego.v1

import data.access.sensitive_group_size

owner := {"id": "mei.chen", "location": "US", "employment": "employee"}

# A group of n people: the owner and n - 1 other members.
mk_input(classes, n) := {"as_of": "2026-11-29", "group": {
	"id": "g1",
	"platform": "lark",
	"kind": "case-queue",
	"data_classes": classes,
	"subject_jurisdictions": ["US"],
	"owner": owner,
	"members": array.concat([owner], fillers(n - 1)),
}}

fillers(n) := [{"id": sprintf("m%03d", [i]), "location": "US", "employment": "employee"} |
	some i in numbers.range(1, n)
]

test_exactly_at_the_limit if {
	count(sensitive_group_size.deny) == 0 with input as mk_input(["minor_safety"], 25)
}

test_one_over_the_limit if {
	findings := sensitive_group_size.deny with input as mk_input(["minor_safety"], 26)
	count(findings) == 1
	some finding in findings
	finding.measure == 1 # the members past the limit, compared in diff
	msg := finding.msg
	contains(msg, "26 members")
	contains(msg, "25")
	contains(msg, "minor_safety")
}

test_smallest_limit_applies if {
	count(sensitive_group_size.deny) == 0 with input as mk_input(["user_pii", "government_id"], 50)
	count(sensitive_group_size.deny) == 1 with input as mk_input(["user_pii", "government_id"], 51)
}

test_limits_compare_as_numbers if {
	count(sensitive_group_size.deny) == 1 with input as mk_input(["financial", "government_id"], 51)
}

test_larger_limit_alone if {
	count(sensitive_group_size.deny) == 0 with input as mk_input(["user_pii"], 51)
}

test_classes_without_limits if {
	count(sensitive_group_size.deny) == 0 with input as mk_input(["public", "internal"], 60)
}

test_unlisted_owner_counts if {
	inp := {"as_of": "2026-11-29", "group": {
		"id": "g1",
		"platform": "lark",
		"kind": "case-queue",
		"data_classes": ["minor_safety"],
		"subject_jurisdictions": ["US"],
		"owner": owner,
		"members": fillers(25),
	}}
	count(sensitive_group_size.deny) == 1 with input as inp
}
