INSERT INTO t (a, b) VALUES ('it''s ?', E'\'?') -- ?
 RETURNING ?