# Unit tests for access.training_expired, run by `opa test policies/`. The
# table-driven cases in training_expired_test.yaml run on every engine.
package access.training_expired_test

import rego.v1

import data.access.training_expired

person(id, trainings) := {
	"id": id,
	"location": "US",
	"employment": "employee",
	"status": "active",
	"trainings": trainings,
}

mei := person("mei.chen", {"privacy": "2026-03-02"})

mk_input(as_of, classes, owner, members) := {"as_of": as_of, "group": {
	"id": "g1",
	"platform": "lark",
	"kind": "chat",
	"data_classes": classes,
	"subject_jurisdictions": ["US"],
	"owner": owner,
	"members": members,
}}

test_trained_exactly_365_days_ago if {
	joe := person("joe.park", {"privacy": "2025-11-29"})
	count(training_expired.warn) == 0 with input as mk_input("2026-11-29", ["user_pii"], mei, [mei, joe])
}

test_trained_366_days_ago if {
	joe := person("joe.park", {"privacy": "2025-11-28"})
	findings := training_expired.warn with input as mk_input("2026-11-29", ["user_pii"], mei, [mei, joe])
	count(findings) == 1
	some f in findings
	f.person == "joe.park"
	contains(f.msg, "366 days")
}

test_leap_year if {
	on_time := person("joe.park", {"privacy": "2023-11-30"})
	late := person("amy.fox", {"privacy": "2023-11-29"})
	owner := person("mei.chen", {"privacy": "2024-03-02"}) # mei's 2026 training is after this as_of
	findings := training_expired.warn with input as mk_input("2024-11-29", ["user_pii"], owner, [owner, on_time, late])
	persons := {f.person | some f in findings}
	persons == {"amy.fox"}
}

test_no_privacy_training if {
	joe := {"id": "joe.park", "location": "US", "employment": "employee"}
	amy := person("amy.fox", {"security": "2026-10-01"})
	findings := training_expired.warn with input as mk_input("2026-11-29", ["government_id"], mei, [mei, joe, amy])
	persons := {f.person | some f in findings}
	persons == {"amy.fox", "joe.park"}
	count(findings) == 2
	every finding in findings {
		contains(finding.msg, "no privacy training")
	}
}

test_owner_is_checked if {
	joe := person("joe.park", {"privacy": "2024-06-30"})
	findings := training_expired.warn with input as mk_input("2026-11-29", ["financial"], joe, [joe, mei])
	persons := {f.person | some f in findings}
	persons == {"joe.park"}
	some finding in findings
	startswith(finding.msg, "owner joe.park")
}

# SPEC §4: a date after as_of is not on record yet, so it must not silence the rule.
test_training_after_as_of if {
	joe := person("joe.park", {"privacy": "2026-12-01"})
	findings := training_expired.warn with input as mk_input("2026-11-29", ["user_pii"], mei, [mei, joe])
	{f.person | some f in findings} == {"joe.park"}
	some finding in findings
	contains(finding.msg, "after 2026-11-29")
	not finding.measure
}

test_measure_is_days_past_the_limit if {
	joe := person("joe.park", {"privacy": "2025-11-19"}) # 375 days before as_of
	findings := training_expired.warn with input as mk_input("2026-11-29", ["user_pii"], mei, [mei, joe])
	[f.measure | some f in findings] == [10]
}

test_non_sensitive_group if {
	joe := person("joe.park", {})
	count(training_expired.warn) == 0 with input as mk_input("2026-11-29", ["public", "internal"], joe, [joe])
}

test_max_age_comes_from_data if {
	joe := person("joe.park", {"privacy": "2026-10-01"})
	findings := training_expired.warn with input as mk_input("2026-11-29", ["user_pii"], mei, [mei, joe])
		with data.training_max_age_days as 30
	persons := {f.person | some f in findings}
	persons == {"joe.park", "mei.chen"}
}
