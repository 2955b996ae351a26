# METADATA
# title: Group too large for its data
# description: >-
#   A group may have at most as many members, owner included, as the smallest max_members among the
#   classes of data it holds.
# custom:
#   severity: high
#   remediation: >-
#     Move the data to a smaller group of the people who need it, or remove members until the group
#     is within the limit.
package access.sensitive_group_size

import rego.v1

import data.lib.groups
import data.lib.text

# measure: the members past the limit (not the member count), so a diff that grows an oversized group,
# or gives it data with a smaller limit, is `worsened` (SPEC §7).
deny contains {"msg": msg, "measure": size - limit} if {
	limit := groups.size_limit(input.group)
	size := count(groups.everyone)
	size > limit
	msg := sprintf(
		"group %s has %d members, more than the %d allowed for a group holding %s data",
		[input.group.id, size, limit, text.listing(groups.limiting_classes(input.group))],
	)
}
