# METADATA
# title: Access review overdue
# description: >-
#   The membership of a group that holds sensitive data must have been reviewed (reviewed.on) within
#   the smallest review_max_age_days of its sensitive classes (a class's own value, else
#   data.review_max_age_days) before the as-of date. A review dated after the as-of date is not on
#   record.
# custom:
#   severity: medium
#   remediation: >-
#     Have the owner or a reviewer go through the members, remove those who no longer need access, and
#     record the review under reviewed (on, by) in the group's entry.
package access.access_review_overdue

import rego.v1

import data.lib.groups
import data.lib.text

limit := groups.review_limit(input.group)

# The date of the group's last review, when it is a date on or before as_of.
reviewed_on := d if {
	d := input.group.reviewed.on
	groups.is_date(d)
	not groups.after(d, input.as_of)
}

warn contains msg if {
	groups.holds_sensitive
	not input.group.reviewed.on
	msg := sprintf(
		"group %s holds sensitive data (%s) but has no access review on record (reviews are due every %d days)",
		[input.group.id, text.sensitive_classes_shown, limit],
	)
}

warn contains msg if {
	groups.holds_sensitive
	d := input.group.reviewed.on
	not reviewed_on
	msg := sprintf(
		"group %s holds sensitive data (%s) and its access review is dated %s, after %s: not on record yet",
		[input.group.id, text.sensitive_classes_shown, d, input.as_of],
	)
}

# measure: the days past the limit, so a review that lapses further is `worsened` (SPEC §7).
warn contains {"msg": msg, "measure": age - limit} if {
	groups.holds_sensitive
	age := groups.age_days(reviewed_on)
	age > limit
	msg := concat(" ", [
		sprintf(
			"group %s holds sensitive data (%s) and was last reviewed on %s",
			[input.group.id, text.sensitive_classes_shown, reviewed_on],
		),
		sprintf(
			"by %s, %d days before %s (reviews are due every %d days)",
			[input.group.reviewed.by, age, input.as_of, limit],
		),
	])
}
