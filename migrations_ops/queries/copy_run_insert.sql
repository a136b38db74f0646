-- returns: nothing; records a new copy run with its plan (list of RangeSpec dicts) and options.
-- params: copy_id, source, plan (json text), options (json text)
INSERT INTO mop.copy_run (copy_id, source, plan, options)
VALUES (%(copy_id)s, %(source)s, %(plan)s, %(options)s)
