# METADATA
# title: Owner outside the approved locations
# description: A group that holds sensitive data must be owned by someone who works from a location that every one of the group's subject jurisdictions approves for staff.
# custom:
#   severity: high
#   remediation: Hand the group over to an owner who works from an approved location, or move the data to a group run from the users' jurisdiction.
package access.owner_location

import rego.v1

import data.lib.groups

deny contains msg if {
	g := input.group
	groups.sensitive(g)
	groups.has_jurisdictions(g)
	approved := groups.approved(g)
	not g.owner.location in approved
	msg := sprintf(
		"group %s holds sensitive data %v of users in %v but its owner %s works from %s, outside the staff locations approved for those users: %v",
		[g.id, groups.sensitive_classes(g), groups.jurisdictions(g), g.owner.id, g.owner.location, groups.shown(approved)],
	)
}
