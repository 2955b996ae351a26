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

# Why member p (other than the owner) must not stay; undefined for an active member. Members
# whose status the platform does not give (accounts no inventory person matches, SPEC §8) are
# not known to be active: the rule fails closed on them. Each member is judged directly, with no
# helper set of ids: the embedded engine builds sets in time quadratic in their size.
why(g, p) := "has departed" if {
	p.status == "departed"
	p.id != g.owner.id
}

why(g, p) := "is not known to be with the organisation" if {
	p.status == null
	p.id != g.owner.id
}

deny contains {"msg": msg, "person": p.id} if {
	g := input.group
	groups.sensitive(g)
	classes := text.listing(groups.sensitive_classes(g))
	some p in groups.everyone
	msg := sprintf("member %s of group %s %s, and the group holds sensitive data (%s)", [p.id, g.id, why(g, p), classes])
}

warn contains {"msg": msg, "person": p.id} if {
	g := input.group
	not groups.sensitive(g)
	some p in groups.everyone
	msg := sprintf("member %s of group %s %s", [p.id, g.id, why(g, p)])
}
