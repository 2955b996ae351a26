# METADATA
# title: Privacy training missing or expired
# description: >-
#   Everyone in a group that holds sensitive data, owner included, must have completed privacy
#   training within the last data.training_max_age_days days (365 by default) before the as-of date.
# custom:
#   severity: low
#   remediation: >-
#     Have the person complete privacy training and record the date under trainings.privacy in their
#     people entry, or remove them from the group.
package access.training_expired

import rego.v1

import data.lib.groups
import data.lib.text

# Trainings completed before this date are more than training_max_age_days old on
# as_of (YYYY-MM-DD dates of equal length compare as text in date order).
cutoff := groups.days_before(input.as_of, data.training_max_age_days)

# Each rule walks the members itself and rules a member out with its cheapest test first (most
# members are in date): on the embedded engine that costs less than one shared list of dates.
# Dates are compared before they are checked, which holds on both engines: one that is not a
# YYYY-MM-DD string fails the check after the comparison, whatever the comparison said.
warn contains {"msg": msg, "person": p.id} if {
	groups.holds_sensitive
	some p in groups.everyone
	not groups.privacy_training(p)
	msg := sprintf(
		"%s %s of group %s, which holds sensitive data (%s), has no privacy training on record",
		[groups.role(p), p.id, input.group.id, text.sensitive_classes_shown],
	)
}

# A date after as_of is not on record yet (SPEC §4): it must not silence the rule.
warn contains {"msg": msg, "person": p.id} if {
	groups.holds_sensitive
	some p in groups.everyone
	completed := p.trainings.privacy
	groups.after(completed, input.as_of)
	groups.is_date(completed)
	msg := sprintf(
		"%s %s of group %s, which holds sensitive data (%s), has a privacy training dated %s, after %s",
		[groups.role(p), p.id, input.group.id, text.sensitive_classes_shown, completed, input.as_of],
	)
}

# measure: the days past the limit, so a training that lapses further is `worsened` (SPEC §7).
warn contains {"msg": msg, "person": p.id, "measure": age - data.training_max_age_days} if {
	groups.holds_sensitive
	some p in groups.everyone
	completed := p.trainings.privacy
	completed < cutoff

	# undefined unless completed is a YYYY-MM-DD date
	age := groups.age_days(completed)
	msg := concat(" ", [
		sprintf(
			"%s %s of group %s, which holds sensitive data (%s),",
			[groups.role(p), p.id, input.group.id, text.sensitive_classes_shown],
		),
		sprintf(
			"last completed privacy training on %s, %d days before %s (the limit is %d days)",
			[completed, age, input.as_of, data.training_max_age_days],
		),
	])
}
