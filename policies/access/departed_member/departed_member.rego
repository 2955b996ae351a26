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

departed contains p if {
	some p in groups.everyone
	p.id != input.group.owner.id
	p.status == "departed"
}

deny contains {"msg": msg, "person": p.id} if {
	g := input.group
	groups.sensitive(g)
	some p in departed
	msg := sprintf(
		"member %s of group %s has departed, and the group holds sensitive data (%s)",
		[p.id, g.id, text.listing(groups.sensitive_classes(g))],
	)
}

warn contains {"msg": msg, "person": p.id} if {
	g := input.group
	not groups.sensitive(g)
	some p in departed
	msg := sprintf("member %s of group %s has departed", [p.id, g.id])
}
