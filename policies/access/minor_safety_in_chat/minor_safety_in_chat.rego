# METADATA
# title: Chat-forbidden data in a chat
# description: >-
#   Data whose class sets chat_allowed to false (content involving minors) never goes into a chat, a
#   channel or a mailing list, where it reaches everyone at once.
# custom:
#   severity: high
#   remediation: >-
#     Move the data to a case queue or a restricted document space, and remove it from the group.
package access.minor_safety_in_chat

import rego.v1

import data.lib.groups
import data.lib.text

deny contains msg if {
	g := input.group
	g.kind in groups.chat_kinds
	forbidden := groups.chat_forbidden_classes(g)
	count(forbidden) > 0
	msg := sprintf(
		"group %s is a %s but holds %s data, which must never be shared in a chat, channel or mailing list",
		[g.id, g.kind, text.listing(forbidden)],
	)
}
