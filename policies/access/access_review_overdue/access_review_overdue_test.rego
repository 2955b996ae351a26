# Unit tests for access.access_review_overdue, run by `opa test policies/`. The boundary days
# are in access_review_overdue_test.yaml, which runs on every engine.
package access.access_review_overdue_test

import rego.v1

import data.access.access_review_overdue

mk_input(classes, extra) := {"as_of": "2026-11-29", "group": object.union(
	{
		"id": "g1",
		"platform": "lark",
		"kind": "case-queue",
		"data_classes": classes,
		"subject_jurisdictions": ["US"],
		"owner": {"id": "mei.chen"},
		"members": [{"id": "mei.chen"}],
	},
	extra,
)}

reviewed(on) := {"reviewed": {"on": on, "by": "ana.ruiz"}}

test_never_reviewed if {
	findings := access_review_overdue.warn with input as mk_input(["user_pii"], {})
	count(findings) == 1
	some msg in findings
	contains(msg, "no access review")
}

test_on_the_limit if {
	count(access_review_overdue.warn) == 0 with input as mk_input(["user_pii"], reviewed("2026-06-02"))
}

test_measure_is_days_past_the_limit if {
	findings := access_review_overdue.warn with input as mk_input(["user_pii"], reviewed("2026-05-23"))
	[f.measure | some f in findings] == [10]
	some f in findings
	contains(f.msg, "ana.ruiz")
}

test_class_limit if {
	count(access_review_overdue.warn) == 1 with input as mk_input(["biometric"], reviewed("2026-08-30"))
}

test_review_after_as_of_is_not_on_record if {
	findings := access_review_overdue.warn with input as mk_input(["user_pii"], reviewed("2026-11-30"))
	count(findings) == 1
	some msg in findings
	contains(msg, "after 2026-11-29")
}

test_no_sensitive_data if {
	count(access_review_overdue.warn) == 0 with input as mk_input(["internal"], {})
}

test_limit_from_data if {
	count(access_review_overdue.warn) == 1 with input as mk_input(["user_pii"], reviewed("2026-10-01"))
		with data.review_max_age_days as 30
}
