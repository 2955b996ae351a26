# Unit tests for access.departed_owner, run by `opa test policies/`. The
# table-driven cases in departed_owner_test.yaml run on every engine.
package access.departed_owner_test

import rego.v1

import data.access.departed_owner

mei := {"id": "mei.chen", "location": "US", "employment": "employee", "status": "active"}

gone := {"id": "old.hand", "location": "US", "employment": "employee", "status": "departed"}

mk_input(classes, owner, members) := {"as_of": "2026-11-29", "group": {
	"id": "g1",
	"platform": "lark",
	"kind": "chat",
	"data_classes": classes,
	"subject_jurisdictions": ["US"],
	"owner": owner,
	"members": members,
}}

test_departed_owner_of_a_sensitive_group if {
	findings := departed_owner.deny with input as mk_input(["user_pii"], gone, [gone, mei])
	count(findings) == 1
	some msg in findings
	contains(msg, "old.hand")
	contains(msg, "g1")
}

test_active_owner if {
	count(departed_owner.deny) == 0 with input as mk_input(["user_pii"], mei, [mei])
}

test_owner_without_status_is_active if {
	joe := {"id": "joe.park", "location": "US", "employment": "employee"}
	count(departed_owner.deny) == 0 with input as mk_input(["user_pii"], joe, [joe])
}

test_departed_owner_of_a_non_sensitive_group if {
	count(departed_owner.deny) == 0 with input as mk_input(["public", "internal"], gone, [gone, mei])
}

test_departed_member if {
	count(departed_owner.deny) == 0 with input as mk_input(["government_id"], mei, [mei, gone])
}

test_departed_owner_without_jurisdictions if {
	inp := {"as_of": "2026-11-29", "group": {
		"id": "g1",
		"platform": "lark",
		"kind": "chat",
		"data_classes": ["financial"],
		"owner": gone,
		"members": [gone],
	}}
	count(departed_owner.deny) == 1 with input as inp
}

test_an_owner_of_unknown_status_fails_closed if {
	stranger := {"id": "lark:ou_x", "location": null, "employment": null, "status": null}
	findings := departed_owner.deny with input as mk_input(["user_pii"], stranger, [stranger, mei])
	count(findings) == 1
	some msg in findings
	contains(msg, "unknown")
}
