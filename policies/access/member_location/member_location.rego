# METADATA
# title: Member outside the approved locations
# description: >-
#   Everyone in a group that holds sensitive data must work from a location that every one of the
#   group's subject jurisdictions approves for staff. The owner is covered by owner-location.
# custom:
#   severity: high
#   remediation: >-
#     Remove the member from the group, or give them access through a group run for their own
#     location's users.
package access.member_location

import rego.v1

import data.lib.groups
import data.lib.text

deny contains {"msg": msg, "person": p.id} if {
	groups.holds_sensitive
	groups.declares_jurisdictions
	some p in groups.everyone
	not p.location in groups.approved_locations
	p.id != groups.owner_id
	msg := sprintf(
		"member %s of group %s works from %s, outside the locations approved for users in %s (%s); it holds %s",
		[
			p.id, input.group.id, p.location,
			text.jurisdictions_shown, text.approved_locations_shown, text.sensitive_classes_shown,
		],
	)
}
