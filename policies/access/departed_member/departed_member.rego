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

# Why a member must not stay, by their status; an active member's status is not a key. Members
# whose status the platform does not give (accounts no inventory person matches, SPEC §8) are
# not known to be active: the rule fails closed on them. Each member is judged directly, with no
# helper set of ids: the embedded engine builds sets in time quadratic in their size.
why := {
	"departed": "has departed",
	null: "is not known to be with the organisation",
}

deny contains {"msg": msg, "person": p.id} if {
	groups.holds_sensitive
	some p in groups.everyone
	reason := why[p.status]
	p.id != groups.owner_id
	msg := sprintf(
		"member %s of group %s %s, and the group holds sensitive data (%s)",
		[p.id, input.group.id, reason, text.sensitive_classes_shown],
	)
}

warn contains {"msg": msg, "person": p.id} if {
	not groups.holds_sensitive
	some p in groups.everyone
	reason := why[p.status]
	p.id != groups.owner_id
	msg := sprintf("member %s of group %s %s", [p.id, input.group.id, reason])
}
