# METADATA
# title: Sensitive group owned by someone who has left
# description: >-
#   A group that holds sensitive data must have an owner who is still with the organisation, someone
#   accountable for who is in it and what it holds.
# custom:
#   severity: medium
#   remediation: Transfer ownership of the group to an active employee, or archive the group.
package access.departed_owner

import rego.v1

import data.lib.groups
import data.lib.text

deny contains msg if {
	g := input.group
	groups.sensitive(g)
	g.owner.status == "departed"
	msg := sprintf(
		"group %s holds sensitive data (%s) but its owner %s has departed",
		[g.id, text.listing(groups.sensitive_classes(g)), g.owner.id],
	)
}

# An owner whose status the platform does not give (an account no inventory person matches, SPEC §8)
# is not known to be active: the rule fails closed on them.
deny contains msg if {
	g := input.group
	groups.sensitive(g)
	g.owner.status == null
	msg := sprintf(
		"group %s holds sensitive data (%s) but whether its owner %s is still with the organisation is unknown",
		[g.id, text.listing(groups.sensitive_classes(g)), g.owner.id],
	)
}
