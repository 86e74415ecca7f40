//! "Did you mean ...?" suggestions by edit distance.

/// Edit distance (Levenshtein plus adjacent transpositions, i.e. optimal string alignment) between
/// two strings, compared case-insensitively, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j - 1] + cost)
                .min(d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The candidate closest to `word`, when it is close enough to be a plausible typo
/// (distance ≤ max(1, len/3)); ties go to the earlier candidate.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `did you mean `x`?` for the closest candidate, if any.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("rebuilddelay", "rebuildDelay"), 0);
    }

    #[test]
    fn suggestions() {
        let keys = ["name", "rebuildDelay", "autoRebuild"];
        assert_eq!(closest("rebuildDelays", &keys), Some("rebuildDelay"));
        assert_eq!(closest("rebuild_delay", &keys), Some("rebuildDelay"));
        assert_eq!(closest("nmae", &keys), Some("name"));
        assert_eq!(closest("completely", &keys), None);
    }
}
