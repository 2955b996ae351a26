# METADATA
# title: Owner outside the approved locations
# description: >-
#   A group that holds sensitive data must be owned by someone who works from a location that every
#   one of the group's subject jurisdictions approves for staff.
# custom:
#   severity: high
#   remediation: >-
#     Hand the group over to an owner who works from an approved location, or move the data to a
#     group run from the users' jurisdiction.
package access.owner_location

import rego.v1

import data.lib.groups
import data.lib.text

deny contains msg if {
	g := input.group
	groups.sensitive(g)
	groups.has_jurisdictions(g)
	approved := groups.approved(g)
	not g.owner.location in approved
	msg := concat(" ", [
		sprintf(
			"group %s holds sensitive data (%s) of users in %s,",
			[g.id, text.listing(groups.sensitive_classes(g)), text.listing(groups.jurisdictions(g))],
		),
		sprintf(
			"but its owner %s works from %s, outside the staff locations approved for those users: %s",
			[g.owner.id, g.owner.location, text.listing(approved)],
		),
	])
}
