# Helpers shared by the access.* rule families of the default policy pack.
#
# This package is not a rule family: it defines no deny or warn rules. Its functions take
# the group (input.group, SPEC §3) or one of its person records explicitly, so that the
# families and the tests can call them with any value; the rules at the end describe the
# group under evaluation once per query, for every family (see there why).
#
# Only built-ins the embedded engine evaluates like OPA are used (the checker refuses
# others, see checker/engines/embedded_capabilities.py): no min, max or sort, which get
# numbers wrong there; time.parse_ns with the "2006-01-02" layout only; concat over arrays,
# format_int in base 10, and sprintf with plain verbs for strings and whole numbers (lists
# reach messages through lib.text.listing, in words).
package lib.groups

import rego.v1

# Group kinds whose content reaches everyone in the group at once.
chat_kinds := {"channel", "chat", "mailing-list"}

# The data classes group g declares, as a set; empty when the field is absent.
classes(g) := {c | some c in object.get(g, "data_classes", [])}

# The subject jurisdictions group g declares, as a set; empty when the field is absent.
jurisdictions(g) := {j | some j in object.get(g, "subject_jurisdictions", [])}

# The classes of group g that data.data_classes marks sensitive.
sensitive_classes(g) := {c |
	some c in classes(g)
	data.data_classes[c].sensitive == true
}

# Group g holds sensitive data.
sensitive(g) if count(sensitive_classes(g)) > 0

# approved(g): the staff locations that every subject jurisdiction of group g
# approves (the intersection of their staff_locations). Empty when the group
# declares no jurisdiction, when the jurisdictions share no location, or when one
# of them is unknown. (One expression: the embedded engine ignores a function's argument
# that is used as a key inside a comprehension, so a helper staff_locations(j) would return
# the locations of every jurisdiction.)
approved(g) := intersection({{loc | some loc in data.jurisdictions[j].staff_locations} | some j in jurisdictions(g)})

# The classes of group g that only employees may see.
employees_only_classes(g) := {c |
	some c in classes(g)
	data.data_classes[c].employees_only == true
}

# The classes of group g that must never be posted in a chat, channel or mailing list.
chat_forbidden_classes(g) := {c |
	some c in classes(g)
	data.data_classes[c].chat_allowed == false
}

# The max_members of each class of group g that sets one.
size_limits(g) := {n |
	some c in classes(g)
	n := data.data_classes[c].max_members
}

# The smallest max_members among the classes of group g; undefined when none of
# them sets one. (Written with `every` rather than min(), which some engines get
# wrong for numbers.)
size_limit(g) := n if {
	limits := size_limits(g)
	some n in limits
	every m in limits {
		n <= m
	}
}

# The classes of group g whose max_members is the group's size limit.
limiting_classes(g) := {c |
	limit := size_limit(g)
	some c in classes(g)
	data.data_classes[c].max_members == limit
}

# Everyone in group g: its members, plus its owner when the members list does not
# name them (the checker always lists the owner; this keeps the rules safe anyway).
# The ids are gathered first and `in` searches them in one step, where a `some m` loop
# would compare every member with the owner in Rego.
people(g) := g.members if {
	g.owner.id in [m.id | some m in g.members]
} else := array.concat(object.get(g, "members", []), [g.owner])

# "owner" or "member": how person p relates to the group under evaluation, for messages.
role(p) := "owner" if {
	p.id == owner_id
} else := "member"

# The date (YYYY-MM-DD) person p last completed privacy training; undefined when
# the person has no such training on record (or its date is not a YYYY-MM-DD string).
privacy_training(p) := d if {
	d := p.trainings.privacy
	is_date(d)
}

# d is a YYYY-MM-DD string. (A glob, not the equivalent regular expression: the embedded
# engine compiles a regular expression on every call, which costs it ~6x as much.)
is_date(d) if {
	is_string(d)
	glob.match("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]", [], d)
}

# Midnight UTC of date d, a YYYY-MM-DD string, in nanoseconds since the epoch.
date_ns(d) := time.parse_ns("2006-01-02", d) if is_date(d)

# The number of days from date d (YYYY-MM-DD) to the as-of date; negative when d comes later.
age_days(d) := round((as_of_ns - date_ns(d)) / 86400000000000)

# The date n days before date d, as YYYY-MM-DD.
days_before(d, n) := concat("-", [format_int(ymd[0], 10), two_digits(ymd[1]), two_digits(ymd[2])]) if {
	ymd := time.date(time.add_date(date_ns(d), 0, 0, 0 - n))
}

# Whole number x from 0 to 99 as two digits.
two_digits(x) := concat("", ["0", format_int(x, 10)]) if {
	x < 10
} else := format_int(x, 10)

# The review_max_age_days that applies to data class c: the class's own, else the top-level one.
review_max_age(c) := object.get(data.data_classes[c], "review_max_age_days", data.review_max_age_days)

# The review ages that apply to the sensitive classes of group g.
review_limits(g) := {review_max_age(c) | some c in sensitive_classes(g)}

# The smallest review age among the sensitive classes of group g; undefined when
# the group holds no sensitive data.
review_limit(g) := n if {
	limits := review_limits(g)
	some n in limits
	every m in limits {
		n <= m
	}
}

# Date d (YYYY-MM-DD) lies after date as_of: such a date is not on record yet.
after(d, as_of) if d > as_of

# The group under evaluation, described once per query. The embedded engine (rego-cpp) keeps a
# rule's value for the rest of the query but evaluates a function on every call, and evaluates
# again for each member what a body computes before a member loop when the loop uses the same
# variables; so the families read these rules, not the functions above applied to input.group.

# Everyone in the group under evaluation.
everyone := people(input.group)

# The id of its owner.
owner_id := input.group.owner.id

# The sensitive classes it holds.
held_sensitive := sensitive_classes(input.group)

# It holds sensitive data.
holds_sensitive if count(held_sensitive) > 0

# Its subject jurisdictions.
declared_jurisdictions := jurisdictions(input.group)

# It declares at least one subject jurisdiction.
declares_jurisdictions if count(declared_jurisdictions) > 0

# The staff locations every one of its subject jurisdictions approves.
approved_locations := approved(input.group)

# Midnight UTC of the as-of date, in nanoseconds since the epoch.
as_of_ns := date_ns(input.as_of)
