//! CWMP sessions built from HTTP messages: Inform to the ACS's empty response, across TCP
//! connections joined by cookie, several per connection, Connection Requests tied to the
//! session they trigger.
