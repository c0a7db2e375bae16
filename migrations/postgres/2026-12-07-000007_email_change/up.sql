-- Changing an address by a link sent to the new one: the address the user had when asking, so
-- that the link changes nothing once the address changed otherwise (NULL: the user had none, or
-- the link is for another purpose).
ALTER TABLE mail_links ADD COLUMN previous_address TEXT;
