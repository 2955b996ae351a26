# Unit tests for access.owner_location, run by `opa test policies/`. The
# table-driven cases in owner_location_test.yaml run on every engine.
package access.owner_location_test

import rego.v1

import data.access.owner_location

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

test_owner_outside_the_us_holding_us_government_ids if {
	findings := owner_location.deny with input as mk_input(["government_id"], ["US"], li, [li, mei])
	count(findings) == 1
	some msg in findings
	contains(msg, "g1")
	contains(msg, "li.wei")
	contains(msg, "CN")
}

test_owner_in_the_us_holding_us_government_ids if {
	count(owner_location.deny) == 0 with input as mk_input(["government_id", "user_pii"], ["US"], mei, [mei, li])
}

test_owner_in_the_only_location_eu_and_gb_share if {
	ana := person("ana.ruiz", "IE")
	count(owner_location.deny) == 0 with input as mk_input(["user_pii"], ["EU", "GB"], ana, [ana])
}

test_owner_approved_by_one_jurisdiction_only if {
	karl := person("karl.weber", "DE")
	count(owner_location.deny) == 1 with input as mk_input(["financial"], ["EU", "GB"], karl, [karl])
}

test_jurisdictions_without_a_common_location if {
	findings := owner_location.deny with input as mk_input(["government_id"], ["US", "SG"], mei, [mei])
	count(findings) == 1
	some msg in findings
	endswith(msg, ": none")
}

test_non_sensitive_group if {
	count(owner_location.deny) == 0 with input as mk_input(["public", "internal"], ["US"], li, [li])
}

test_absent_data_classes if {
	inp := without(mk_input(["user_pii"], ["US"], li, [li]), "data_classes")
	count(owner_location.deny) == 0 with input as inp
}

test_absent_subject_jurisdictions_is_another_rule if {
	inp := without(mk_input(["user_pii"], ["US"], li, [li]), "subject_jurisdictions")
	count(owner_location.deny) == 0 with input as inp
}

test_empty_subject_jurisdictions_is_another_rule if {
	count(owner_location.deny) == 0 with input as mk_input(["user_pii"], [], li, [li])
}

test_unlisted_owner_is_checked if {
	count(owner_location.deny) == 1 with input as mk_input(["user_pii"], ["US"], li, [mei])
}
