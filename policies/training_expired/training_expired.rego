# METADATA
# title: Privacy training missing or expired
# description: Everyone in a group that holds sensitive data, owner included, must have completed privacy training within the last data.training_max_age_days days (365 by default) before the as-of date.
# custom:
#   severity: low
#   remediation: Have the person complete privacy training and record the date under trainings.privacy in their people entry, or remove them from the group.
package access.training_expired

import rego.v1

import data.lib.groups

warn contains {"msg": msg, "person": p.id} if {
	g := input.group
	groups.sensitive(g)
	some p in groups.people(g)
	not groups.privacy_training(p)
	msg := sprintf(
		"%s %s of group %s, which holds sensitive data %v, has no privacy training on record",
		[groups.role(g, p), p.id, g.id, groups.sensitive_classes(g)],
	)
}

warn contains {"msg": msg, "person": p.id} if {
	g := input.group
	groups.sensitive(g)
	some p in groups.people(g)
	completed := groups.privacy_training(p)
	age := groups.days_between(completed, input.as_of)
	age > data.training_max_age_days
	msg := sprintf(
		"%s %s of group %s, which holds sensitive data %v, last completed privacy training on %s, %d days before %s (the limit is %d days)",
		[groups.role(g, p), p.id, g.id, groups.sensitive_classes(g), completed, age, input.as_of, data.training_max_age_days],
	)
}
