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
