//! HTTP/1.x over reassembled streams (issue: transactions). (being written)
