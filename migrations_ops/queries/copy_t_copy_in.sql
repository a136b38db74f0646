-- returns: nothing; COPY of one range's rows into the target table. Template: table, columns, format
-- (FORMAT BINARY or FORMAT TEXT).
COPY {table} ({columns}) FROM STDIN ({format})
