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

# Computed once per group, not once per member: regopy re-evaluates what a rule body repeats.
approved_shown := text.listing(groups.approved(input.group))

jurisdictions_shown := text.listing(groups.jurisdictions(input.group))

classes_shown := text.listing(groups.sensitive_classes(input.group))

deny contains {"msg": msg, "person": p.id} if {
	g := input.group
	groups.sensitive(g)
	groups.has_jurisdictions(g)
	approved := groups.approved(g)
	some p in groups.people(g)
	p.id != g.owner.id
	not p.location in approved
	msg := sprintf(
		"member %s of group %s works from %s, outside the locations approved for users in %s (%s); it holds %s",
		[p.id, g.id, p.location, jurisdictions_shown, approved_shown, classes_shown],
	)
}
