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

# Why member p must not stay; undefined for an active member. Members
# whose status the platform does not give (accounts no inventory person matches, SPEC §8) are
# not known to be active: the rule fails closed on them. Each member is judged directly, with no
# helper set of ids: the embedded engine builds sets in time quadratic in their size.
why(p) := "has departed" if p.status == "departed"

why(p) := "is not known to be with the organisation" if p.status == null

# Computed once per group, not once per member: regopy re-evaluates what a rule body repeats.
classes_shown := text.listing(groups.sensitive_classes(input.group))

deny contains {"msg": msg, "person": p.id} if {
	g := input.group
	groups.sensitive(g)
	some p in groups.everyone
	p.id != g.owner.id
	msg := sprintf(
		"member %s of group %s %s, and the group holds sensitive data (%s)",
		[p.id, g.id, why(p), classes_shown],
	)
}

warn contains {"msg": msg, "person": p.id} if {
	g := input.group
	not groups.sensitive(g)
	some p in groups.everyone
	p.id != g.owner.id
	msg := sprintf("member %s of group %s %s", [p.id, g.id, why(p)])
}
