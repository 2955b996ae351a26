# Unit tests for access.member_location, run by `opa test policies/`. The
# table-driven cases in member_location_test.yaml run on every engine.
package access.member_location_test

import rego.v1

import data.access.member_location

person(id, location) := {
	"id": id,
	"location": location,
	"employment": "employee",
	"status": "active",
	"trainings": {"privacy": "2026-03-02"},
}

mk_input(classes, jurisdictions, owner, members) := {"as_of": "2026-11-29", "group": {
	"id": "g1",
	"platform": "lark",
	"kind": "chat",
	"data_classes": classes,
	"subject_jurisdictions": jurisdictions,
	"owner": owner,
	"members": members,
}}

# inp with the group field `key` left out.
without(inp, key) := {"as_of": inp.as_of, "group": object.remove(inp.group, [key])}

li := person("li.wei", "CN")

mei := person("mei.chen", "US")

raj := person("raj.iyer", "SG")

test_member_outside_the_us if {
	findings := member_location.deny with input as mk_input(["user_pii"], ["US"], mei, [mei, li])
	count(findings) == 1
	some f in findings
	f.person == "li.wei"
	contains(f.msg, "li.wei")
	contains(f.msg, "CN")
}

test_owner_is_not_reported_as_a_member if {
	count(member_location.deny) == 0 with input as mk_input(["government_id"], ["US"], li, [mei, li])
}

test_one_finding_per_member_outside if {
	joe := person("joe.park", "US")
	findings := member_location.deny with input as mk_input(["government_id"], ["US"], mei, [mei, li, raj, joe])
	persons := {f.person | some f in findings}
	persons == {"li.wei", "raj.iyer"}
	count(findings) == 2
}

test_intersection_of_jurisdictions if {
	ana := person("ana.ruiz", "IE")
	karl := person("karl.weber", "DE")
	tom := person("tom.hall", "GB")
	findings := member_location.deny with input as mk_input(["user_pii"], ["EU", "GB"], ana, [ana, karl, tom])
	persons := {f.person | some f in findings}
	persons == {"karl.weber", "tom.hall"}
}

test_jurisdictions_without_a_common_location if {
	joe := person("joe.park", "US")
	findings := member_location.deny with input as mk_input(["biometric"], ["US", "SG"], mei, [mei, raj, joe])
	persons := {f.person | some f in findings}
	persons == {"joe.park", "raj.iyer"}
}

test_non_sensitive_group if {
	count(member_location.deny) == 0 with input as mk_input(["internal"], ["US"], mei, [mei, li])
}

test_absent_subject_jurisdictions if {
	inp := without(mk_input(["user_pii"], ["US"], mei, [mei, li]), "subject_jurisdictions")
	count(member_location.deny) == 0 with input as inp
}

test_absent_data_classes if {
	inp := without(mk_input(["user_pii"], ["US"], mei, [mei, li]), "data_classes")
	count(member_location.deny) == 0 with input as inp
}
