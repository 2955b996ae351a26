# METADATA
# title: Privacy training missing or expired
# description: Everyone in a group that holds sensitive data, owner included, must have completed privacy training within the last data.training_max_age_days days (365 by default) before the as-of date.
# custom:
#   severity: low
#   remediation: Have the person complete privacy training and record the date under trainings.privacy in their people entry, or remove them from the group.
package access.training_expired

import rego.v1

import data.lib.groups

# Computed once per group, not once per member: regopy re-evaluates what a rule body repeats.
sensitive_classes := groups.sensitive_classes(input.group)

as_of_day := groups.day_number(input.as_of)

# Trainings completed before this date are more than training_max_age_days old on
# as_of (YYYY-MM-DD dates of equal length compare as text in date order).
cutoff := groups.date_of(as_of_day - data.training_max_age_days)

warn contains {"msg": msg, "person": p.id} if {
	count(sensitive_classes) > 0
	some p in groups.people(input.group)
	not groups.privacy_training(p)
	msg := sprintf(
		"%s %s of group %s, which holds sensitive data %v, has no privacy training on record",
		[groups.role(input.group, p), p.id, input.group.id, sensitive_classes],
	)
}

warn contains {"msg": msg, "person": p.id} if {
	count(sensitive_classes) > 0
	some p in groups.people(input.group)
	completed := groups.privacy_training(p)
	completed < cutoff
	age := as_of_day - groups.day_number(completed)
	msg := sprintf(
		"%s %s of group %s, which holds sensitive data %v, last completed privacy training on %s, %d days before %s (the limit is %d days)",
		[groups.role(input.group, p), p.id, input.group.id, sensitive_classes, completed, age, input.as_of, data.training_max_age_days],
	)
}
