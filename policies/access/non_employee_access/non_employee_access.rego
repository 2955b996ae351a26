# METADATA
# title: Non-employee in a group with employees-only data
# description: >-
#   Only employees may be in a group, as owner or member, that holds a class of data marked
#   employees_only (government IDs, biometrics, minor safety).
# custom:
#   severity: high
#   remediation: >-
#     Remove the contractor or vendor from the group, or move the employees-only data to a group of
#     employees.
package access.non_employee_access

import rego.v1

import data.lib.groups
import data.lib.text

# Computed once per group, not once per member: regopy re-evaluates what a rule body repeats.
restricted := groups.employees_only_classes(input.group)

restricted_shown := text.listing(restricted)

holds_restricted if count(restricted) > 0

deny contains {"msg": msg, "person": p.id} if {
	holds_restricted
	some p in groups.everyone

	# the one test most members stop at; object.get then gives a missing employment a name
	not p.employment == "employee"
	employment := object.get(p, "employment", "unknown")
	msg := sprintf(
		"%s %s of group %s is not an employee (employment: %s) but the group holds employees-only data (%s)",
		[groups.role(p), p.id, input.group.id, employment, restricted_shown],
	)
}
