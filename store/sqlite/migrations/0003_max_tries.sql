-- MaxTries is the number of attempts a challenge allows. Challenges issued
-- before this version stored one more (the successful attempt's try was
-- counted on top), so those still stored are brought to the meaning the
-- code now gives the column.
UPDATE challenges SET max_tries = max_tries - 1 WHERE max_tries > 1;
