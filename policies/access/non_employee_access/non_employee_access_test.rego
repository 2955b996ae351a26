# Unit tests for access.non_employee_access, run by `opa test policies/`. The
# table-driven cases in non_employee_access_test.yaml run on every engine.
package access.non_employee_access_test

import rego.v1

import data.access.non_employee_access

person(id, employment) := {
	"id": id,
	"location": "US",
	"employment": employment,
	"status": "active",
	"trainings": {"privacy": "2026-03-02"},
}

mk_input(classes, owner, members) := {"as_of": "2026-11-29", "group": {
	"id": "g1",
	"platform": "lark",
	"kind": "case-queue",
	"data_classes": classes,
	"subject_jurisdictions": ["US"],
	"owner": owner,
	"members": members,
}}

mei := person("mei.chen", "employee")

sam := person("sam.ortiz", "contractor")

vic := person("vic.lee", "vendor")

test_contractor_member_with_government_ids if {
	findings := non_employee_access.deny with input as mk_input(["government_id"], mei, [mei, sam])
	count(findings) == 1
	some f in findings
	f.person == "sam.ortiz"
	contains(f.msg, "contractor")
	contains(f.msg, "government_id")
}

test_vendor_owner_with_biometrics if {
	findings := non_employee_access.deny with input as mk_input(["biometric"], vic, [vic, mei])
	persons := {f.person | some f in findings}
	persons == {"vic.lee"}
	some finding in findings
	startswith(finding.msg, "owner vic.lee")
}

test_one_finding_per_non_employee if {
	findings := non_employee_access.deny with input as mk_input(["minor_safety"], mei, [mei, sam, vic])
	persons := {f.person | some f in findings}
	persons == {"sam.ortiz", "vic.lee"}
	count(findings) == 2
}

test_employees_only if {
	joe := person("joe.park", "employee")
	count(non_employee_access.deny) == 0 with input as mk_input(["government_id", "user_pii"], mei, [mei, joe])
}

test_sensitive_but_not_employees_only if {
	count(non_employee_access.deny) == 0 with input as mk_input(["user_pii", "financial"], mei, [mei, sam])
}

test_public_group if {
	count(non_employee_access.deny) == 0 with input as mk_input(["public"], mei, [mei, sam, vic])
}

test_unlisted_owner_reported_once if {
	findings := non_employee_access.deny with input as mk_input(["government_id"], sam, [mei])
	persons := {f.person | some f in findings}
	persons == {"sam.ortiz"}
	count(findings) == 1
}
