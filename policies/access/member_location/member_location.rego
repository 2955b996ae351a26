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
	g := input.group
	groups.sensitive(g)
	groups.has_jurisdictions(g)
	approved := groups.approved(g)
	some p in groups.everyone
	p.id != g.owner.id
	not p.location in approved
	msg := concat(" ", [
		sprintf(
			"member %s of group %s works from %s, outside the staff locations approved for users in %s:",
			[p.id, g.id, p.location, text.listing(groups.jurisdictions(g))],
		),
		sprintf(
			"%s; the group holds sensitive data (%s)",
			[text.listing(approved), text.listing(groups.sensitive_classes(g))],
		),
	])
}
