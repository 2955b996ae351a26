# Helpers shared by the access.* rule families of the default policy pack.
#
# This package is not a rule family: it defines no deny or warn rules. Every
# function takes the group (input.group, SPEC §3) or one of its person records
# explicitly, so that the families and the tests can call it with any value.
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

# Group g declares at least one subject jurisdiction.
has_jurisdictions(g) if count(jurisdictions(g)) > 0

# approved(g): the staff locations that every subject jurisdiction of group g
# approves (the intersection of their staff_locations). Empty when the group
# declares no jurisdiction, when the jurisdictions share no location, or when one
# of them is unknown.
approved(g) := {loc |
	js := jurisdictions(g)
	some j in js
	some loc in data.jurisdictions[j].staff_locations
	every k in js {
		loc in data.jurisdictions[k].staff_locations
	}
}

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
	some n in size_limits(g)
	every m in size_limits(g) {
		n <= m
	}
}

# The classes of group g whose max_members is the group's size limit.
limiting_classes(g) := {c |
	some c in classes(g)
	data.data_classes[c].max_members == size_limit(g)
}

# Everyone in group g: its members, plus its owner when the members list does not
# name them (the checker always lists the owner; this keeps the rules safe anyway).
people(g) := members if {
	members := object.get(g, "members", [])
	some m in members
	m.id == g.owner.id
} else := array.concat(object.get(g, "members", []), [g.owner])

# Everyone in the group under evaluation, computed once per query for every family.
everyone := people(input.group)

# "owner" or "member": how person p relates to group g, for messages.
role(g, p) := "owner" if {
	p.id == g.owner.id
} else := "member"

# The date (YYYY-MM-DD) person p last completed privacy training; undefined when
# the person has no such training on record (or its date is not a YYYY-MM-DD string).
privacy_training(p) := d if {
	d := p.trainings.privacy
	is_date(d)
}

# d is a YYYY-MM-DD string.
is_date(d) if {
	is_string(d)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, d)
}

# Midnight UTC of date d, a YYYY-MM-DD string, in nanoseconds since the epoch.
date_ns(d) := time.parse_ns("2006-01-02", d) if is_date(d)

# The number of days from date `earlier` to date `later`, both YYYY-MM-DD;
# negative when `later` comes first.
days_between(earlier, later) := round((date_ns(later) - date_ns(earlier)) / 86400000000000)

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
	some n in review_limits(g)
	every m in review_limits(g) {
		n <= m
	}
}

# Date d (YYYY-MM-DD) lies after date as_of: such a date is not on record yet.
after(d, as_of) if d > as_of
