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
	groups.holds_sensitive
	groups.declares_jurisdictions
	owner := input.group.owner
	not owner.location in groups.approved_locations
	msg := concat(" ", [
		sprintf(
			"group %s holds sensitive data (%s) of users in %s,",
			[input.group.id, text.sensitive_classes_shown, text.jurisdictions_shown],
		),
		sprintf(
			"but its owner %s works from %s, outside the staff locations approved for those users: %s",
			[owner.id, owner.location, text.approved_locations_shown],
		),
	])
}
