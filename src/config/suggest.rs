//! "Did you mean …?": the closest known word by edit distance, for typos in keys and values.

/// The Levenshtein distance between `a` and `b`, counted in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate closest to `word` within `max_distance` edits (ties: the first listed), if any.
pub(crate) fn closest<'a, I>(word: &str, candidates: I, max_distance: usize) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= max_distance)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// How many edits still count as a typo of `known`: fewer for short words, so that unrelated
/// short words are not mistaken for each other.
pub(crate) fn typo_budget(known: &str) -> usize {
    match known.chars().count() {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    }
}

/// The candidate to suggest for the typo `word`: the closest within its [`typo_budget`].
pub(crate) fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= typo_budget(candidate))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("privat_key", "private_key"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("tls_levle", "tls_level"), 2);
    }

    #[test]
    fn closest_within_budget() {
        let words = ["private_key", "public_certificate", "trusted_dir"];
        assert_eq!(closest("privat_key", words, 2), Some("private_key"));
        assert_eq!(closest("nothing_like_it", words, 2), None);
        assert_eq!(did_you_mean("trustd_dir", words), Some("trusted_dir"));
        assert_eq!(did_you_mean("enabled", words), None);
    }

    #[test]
    fn short_words_need_a_closer_match() {
        assert_eq!(did_you_mean("type", ["kind"]), None);
        assert_eq!(did_you_mean("kinds", ["kind"]), Some("kind"));
    }
}
