# Unit tests for access.departed_member, run by `opa test policies/`. The table-driven
# cases in departed_member_test.yaml run on every engine.
package access.departed_member_test

import rego.v1

import data.access.departed_member

person(id, status) := {"id": id, "location": "US", "employment": "employee", "status": status}

mk_input(classes, owner, members) := {"as_of": "2026-11-29", "group": {
	"id": "g1",
	"platform": "lark",
	"kind": "chat",
	"data_classes": classes,
	"subject_jurisdictions": ["US"],
	"owner": owner,
	"members": members,
}}

mei := person("mei.chen", "active")

joe := person("joe.park", "departed")

test_departed_member_of_a_sensitive_group_is_a_deny if {
	findings := departed_member.deny with input as mk_input(["user_pii"], mei, [mei, joe])
	{f.person | some f in findings} == {"joe.park"}
	count(departed_member.warn) == 0 with input as mk_input(["user_pii"], mei, [mei, joe])
	some finding in findings
	contains(finding.msg, "user_pii")
}

test_departed_member_of_a_plain_group_is_a_warn if {
	findings := departed_member.warn with input as mk_input(["internal"], mei, [mei, joe])
	{f.person | some f in findings} == {"joe.park"}
	count(departed_member.deny) == 0 with input as mk_input(["internal"], mei, [mei, joe])
}

test_active_members if {
	count(departed_member.deny) == 0 with input as mk_input(["user_pii"], mei, [mei])
	count(departed_member.warn) == 0 with input as mk_input([], mei, [mei])
}

test_departed_owner_is_another_rule if {
	count(departed_member.deny) == 0 with input as mk_input(["user_pii"], joe, [joe, mei])
	count(departed_member.warn) == 0 with input as mk_input(["internal"], joe, [joe, mei])
}

stranger := person("lark:ou_x", null)

test_a_member_of_unknown_status_fails_closed if {
	findings := departed_member.deny with input as mk_input(["user_pii"], mei, [mei, stranger])
	{f.person | some f in findings} == {"lark:ou_x"}
	some finding in findings
	contains(finding.msg, "not known to be with the organisation")
}
