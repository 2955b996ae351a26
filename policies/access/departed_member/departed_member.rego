# METADATA
# title: Departed person still a member
# description: >-
#   Someone who has left the organisation (status departed) must not stay a member of any group.
#   It is a deny when the group holds sensitive data and a warn otherwise. The owner is covered by
#   departed-owner.
# custom:
#   severity: high
#   remediation: >-
#     Remove the person from the group (offboarding), and check the platform's own membership too.
package access.departed_member

import rego.v1

import data.lib.groups
import data.lib.text

# The ids of the departed members other than the owner, found in one pass over the group.
departed contains p.id if {
	some p in groups.people(input.group)
	p.status == "departed"
	p.id != input.group.owner.id
}

# Members whose status the platform does not give (accounts no inventory person matches, SPEC §8)
# are not known to be active: the rule fails closed on them.
unknown contains p.id if {
	some p in groups.people(input.group)
	p.status == null
	p.id != input.group.owner.id
}

gone := departed | unknown

why(id) := "has departed" if id in departed

why(id) := "is not known to be with the organisation" if {
	id in unknown
	not id in departed
}

deny contains {"msg": msg, "person": id} if {
	g := input.group
	groups.sensitive(g)
	classes := text.listing(groups.sensitive_classes(g))
	some id in gone
	msg := sprintf("member %s of group %s %s, and the group holds sensitive data (%s)", [id, g.id, why(id), classes])
}

warn contains {"msg": msg, "person": id} if {
	g := input.group
	not groups.sensitive(g)
	some id in gone
	msg := sprintf("member %s of group %s %s", [id, g.id, why(id)])
}
