//! ALPN protocol lists in the wire form OpenSSL takes.

use tls_policy_backend::BackendError;

use crate::capabilities::rejected;

/// `protocols` as length-prefixed bytes; each must be 1 to 255 bytes long.
pub(crate) fn wire(protocols: &[Vec<u8>]) -> Result<Vec<u8>, BackendError> {
    let mut wire = Vec::new();
    for proto in protocols {
        let len = u8::try_from(proto.len())
            .ok()
            .filter(|len| *len > 0)
            .ok_or_else(|| {
                rejected(
                    "alpn_protocols",
                    format!(
                        "ALPN protocol {:?} must be 1 to 255 bytes long",
                        String::from_utf8_lossy(proto)
                    ),
                )
            })?;
        wire.push(len);
        wire.extend_from_slice(proto);
    }
    Ok(wire)
}

/// The server's first protocol (`offered`, wire form) that the client's list (`client`, wire
/// form) holds, as a slice of the client's list; `None` when there is no overlap or a list is
/// malformed.
pub(crate) fn select<'a>(offered: &[u8], client: &'a [u8]) -> Option<&'a [u8]> {
    let client_protos: Vec<&'a [u8]> = entries(client)?;
    entries(offered)?
        .into_iter()
        .find_map(|ours| client_protos.iter().copied().find(|theirs| *theirs == ours))
}

/// The entries of a length-prefixed list; `None` when it is malformed.
fn entries(mut list: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = list.split_first() {
        let len = usize::from(len);
        if len == 0 || rest.len() < len {
            return None;
        }
        out.push(&rest[..len]);
        list = &rest[len..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_order_wins_and_bad_lists_select_nothing() {
        let ours = wire(&[b"h2".to_vec(), b"http/1.1".to_vec()]).unwrap();
        let theirs = wire(&[b"http/1.1".to_vec(), b"h2".to_vec()]).unwrap();
        assert_eq!(select(&ours, &theirs), Some(&b"h2"[..]));
        let other = wire(&[b"imap".to_vec()]).unwrap();
        assert_eq!(select(&ours, &other), None);
        assert_eq!(select(&ours, &[5, b'h']), None);
        assert!(wire(&[Vec::new()]).is_err());
        assert!(wire(&[vec![b'x'; 256]]).is_err());
    }
}
