//! What the client's `--explain` and the server's `/handshake` page both tell, from one source:
//! the sequence of messages of one connection, named from the records either side saw.
//!
//! - [`sequence`]: records to named messages (ClientHello, ..., the request and response), each
//!   with its size, its time and whether an eavesdropper could read it; and the text diagram.
//! - [`words`]: the step titles and the sentences of the key-exchange step.

pub mod sequence;
pub mod words;
