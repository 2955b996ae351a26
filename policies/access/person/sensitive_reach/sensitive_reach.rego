# METADATA
# title: One person in too many sensitive groups
# description: >-
#   A person-scope rule: nobody should be a member, or owner, of more than
#   data.max_sensitive_groups_per_person groups that hold sensitive data. Such reach is rarely needed
#   and makes one account a large target.
# custom:
#   severity: medium
#   remediation: >-
#     Review the person's groups with them and remove the memberships they no longer need, or move
#     the work they need to a smaller number of groups.
package access.person.sensitive_reach

import rego.v1

import data.lib.groups
import data.lib.text

# The ids of the person's groups that hold sensitive data.
sensitive_groups contains g.id if {
	some g in input.groups
	groups.sensitive(g)
}

# measure: the number of sensitive groups, so joining one more is `worsened` (SPEC §7).
warn contains {"msg": msg, "measure": reach} if {
	# Most people are in a few groups: decided without looking at any group's data.
	count(input.groups) > data.max_sensitive_groups_per_person
	reach := count(sensitive_groups)
	reach > data.max_sensitive_groups_per_person
	msg := concat(" ", [
		sprintf(
			"%s is in %d groups that hold sensitive data, more than the %d allowed per person:",
			[input.person.id, reach, data.max_sensitive_groups_per_person],
		),
		text.listing(sensitive_groups),
	])
}
