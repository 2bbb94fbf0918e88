//! Subscription tries: prefix trees over topics whose edges carry runs of bytes (a radix
//! tree), so matching a message is one walk along its first bytes, whatever the number of
//! topics or subscribers. [`Subscriptions`] counts each topic (SUB/XSUB: subscribing twice
//! needs two cancels); [`Subscribers`] maps each topic to the set of pipes subscribed to it
//! (PUB/XPUB). Every walk is a loop, never a recursion, so long topics cannot exhaust a stack.

/// What a node holds; an empty value means "no subscription ends here".
pub trait Value: Default {
    fn is_empty(&self) -> bool;
}

impl Value for u32 {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

struct Node<V> {
    /// The bytes on the edge into this node; empty only for the root.
    label: Box<[u8]>,
    value: V,
    /// Sorted by the first byte of their labels, which are distinct.
    children: Vec<Node<V>>,
}

impl<V: Value> Node<V> {
    fn new(label: &[u8]) -> Node<V> {
        Node {
            label: label.into(),
            value: V::default(),
            children: Vec::new(),
        }
    }

    #[inline]
    fn find(&self, first: u8) -> Result<usize, usize> {
        self.children.binary_search_by_key(&first, |c| c.label[0])
    }

    /// Splits the edge into this node after `at` bytes: this node keeps the head of the
    /// label, a new only child takes the rest along with the value and children.
    fn split(&mut self, at: usize) {
        let tail = Node {
            label: self.label[at..].into(),
            value: std::mem::take(&mut self.value),
            children: std::mem::take(&mut self.children),
        };
        self.label = self.label[..at].into();
        self.children.push(tail);
    }

    /// Merges an empty non-root node with its only child.
    fn absorb_only_child(&mut self) {
        if self.label.is_empty() || !self.value.is_empty() || self.children.len() != 1 {
            return;
        }
        let child = self.children.pop().expect("one child");
        let mut label = Vec::with_capacity(self.label.len() + child.label.len());
        label.extend_from_slice(&self.label);
        label.extend_from_slice(&child.label);
        self.label = label.into();
        self.value = child.value;
        self.children = child.children;
    }

    /// Restores the tree's shape after child `i`'s value changed: a child holding nothing
    /// goes (and this node may then fold into its last child); an empty child with one
    /// child of its own folds into it. Nothing above this node is affected.
    fn tidy_child(&mut self, i: usize) {
        let child = &mut self.children[i];
        if !child.value.is_empty() {
            return;
        }
        if child.children.is_empty() {
            self.children.remove(i);
            self.absorb_only_child();
        } else {
            child.absorb_only_child();
        }
    }
}

/// A radix tree from byte strings to values. Keys whose value is empty are not stored.
pub struct Trie<V> {
    root: Node<V>,
}

impl<V: Value> Default for Trie<V> {
    fn default() -> Self {
        Trie {
            root: Node::new(&[]),
        }
    }
}

impl<V> Drop for Trie<V> {
    /// Frees the nodes from an explicit stack: the default drop would recurse once per level.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.root.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V: Value> Trie<V> {
    /// The value of `key`, inserted (empty) if absent. The caller must leave it non-empty.
    fn get_or_insert(&mut self, mut key: &[u8]) -> &mut V {
        let mut node = &mut self.root;
        loop {
            let Some(&first) = key.first() else {
                return &mut node.value;
            };
            let i = match node.find(first) {
                Ok(i) => i,
                Err(i) => {
                    node.children.insert(i, Node::new(key));
                    return &mut node.children[i].value;
                }
            };
            let child = &mut node.children[i];
            let common = common_prefix(&child.label, key);
            if common < child.label.len() {
                child.split(common);
            }
            key = &key[common..];
            node = child;
        }
    }

    /// The value of `key`, if stored.
    pub fn get(&self, mut key: &[u8]) -> Option<&V> {
        let mut node = &self.root;
        while let Some(&first) = key.first() {
            let child = &node.children[node.find(first).ok()?];
            key = key.strip_prefix(&*child.label)?;
            node = child;
        }
        (!node.value.is_empty()).then_some(&node.value)
    }

    /// Applies `f` to the value of `key` if the key has a node, then drops the key if its
    /// value became empty. None if there is no node for `key`.
    fn change<R>(&mut self, mut key: &[u8], f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut node = &mut self.root;
        if key.is_empty() {
            return Some(f(&mut node.value));
        }
        loop {
            let i = node.find(key[0]).ok()?;
            key = key.strip_prefix(&*node.children[i].label)?;
            if key.is_empty() {
                let r = f(&mut node.children[i].value);
                node.tidy_child(i);
                return Some(r);
            }
            node = &mut node.children[i];
        }
    }

    /// Calls `f` with the value of every stored key that is a prefix of `data`, shortest
    /// first. The cost is one step per node on the path, whatever the tree's size.
    #[inline]
    pub fn for_each_prefix_of(&self, data: &[u8], mut f: impl FnMut(&V)) {
        let mut node = &self.root;
        let mut rest = data;
        loop {
            if !node.value.is_empty() {
                f(&node.value);
            }
            let Some(&first) = rest.first() else { return };
            let Ok(i) = node.find(first) else { return };
            let child = &node.children[i];
            let Some(r) = rest.strip_prefix(&*child.label) else {
                return;
            };
            rest = r;
            node = child;
        }
    }

    /// True if a stored key is a prefix of `data`.
    #[inline]
    pub fn has_prefix_of(&self, data: &[u8]) -> bool {
        let mut node = &self.root;
        let mut rest = data;
        loop {
            if !node.value.is_empty() {
                return true;
            }
            let Some(&first) = rest.first() else {
                return false;
            };
            let Ok(i) = node.find(first) else {
                return false;
            };
            let child = &node.children[i];
            match rest.strip_prefix(&*child.label) {
                Some(r) => rest = r,
                None => return false,
            }
            node = child;
        }
    }

    /// Calls `f` with every stored key and its value, in byte order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &V)) {
        let mut key = Vec::new();
        if !self.root.value.is_empty() {
            f(&key, &self.root.value);
        }
        let mut stack: Vec<(&Node<V>, usize)> = vec![(&self.root, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, i) = *top;
            top.1 += 1;
            match node.children.get(i) {
                Some(child) => {
                    key.extend_from_slice(&child.label);
                    if !child.value.is_empty() {
                        f(&key, &child.value);
                    }
                    stack.push((child, 0));
                }
                None => {
                    key.truncate(key.len() - node.label.len());
                    stack.pop();
                }
            }
        }
    }

    /// The number of stored keys.
    pub fn len(&self) -> usize {
        let mut n = 0;
        self.for_each(|_, _| n += 1);
        n
    }

    pub fn is_empty(&self) -> bool {
        self.root.value.is_empty() && self.root.children.is_empty()
    }
}

/// A socket's own subscriptions (SUB/XSUB), counted: a topic subscribed twice needs two
/// cancels.
#[derive(Default)]
pub struct Subscriptions {
    trie: Trie<u32>,
}

impl Subscriptions {
    /// Adds one reference to `topic`; true if it is new.
    pub fn add(&mut self, topic: &[u8]) -> bool {
        let n = self.trie.get_or_insert(topic);
        *n = n.saturating_add(1);
        *n == 1
    }

    /// Drops one reference to `topic`; true if that was the last one. Cancelling a topic
    /// that is not subscribed does nothing and returns false.
    pub fn remove(&mut self, topic: &[u8]) -> bool {
        self.trie
            .change(topic, |n| {
                if *n == 0 {
                    return false;
                }
                *n -= 1;
                *n == 0
            })
            .unwrap_or(false)
    }

    /// True if some subscription is a prefix of `data` (the empty one matches everything).
    #[inline]
    pub fn matches(&self, data: &[u8]) -> bool {
        self.trie.has_prefix_of(data)
    }

    /// Calls `f` once with each subscribed topic.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        self.trie.for_each(|k, _| f(k))
    }

    /// The number of distinct topics.
    pub fn len(&self) -> usize {
        self.trie.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trie.is_empty()
    }
}

/// The pipes subscribed to one topic, as sorted keys.
#[derive(Default)]
pub struct PipeSet(Vec<usize>);

impl Value for PipeSet {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PipeSet {
    fn insert(&mut self, key: usize) -> bool {
        match self.0.binary_search(&key) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, key);
                true
            }
        }
    }

    fn remove(&mut self, key: usize) -> bool {
        match self.0.binary_search(&key) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    fn contains(&self, key: usize) -> bool {
        self.0.binary_search(&key).is_ok()
    }
}

/// What removing one pipe's subscription to a topic did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removed {
    /// The pipe was not subscribed to the topic.
    NotFound,
    /// It was the topic's last subscriber.
    Last,
    /// Other pipes remain subscribed.
    OthersRemain,
}

/// Which pipes are subscribed to which topics (PUB/XPUB). A pipe is subscribed to a topic
/// or not: a repeated subscribe from the same pipe changes nothing and one cancel removes it,
/// as libzmq does (its subscribers count their own duplicates and send one cancel at the end).
#[derive(Default)]
pub struct Subscribers {
    trie: Trie<PipeSet>,
}

impl Subscribers {
    /// Subscribes pipe `key` to `topic`; true if the topic had no subscriber before.
    pub fn add(&mut self, topic: &[u8], key: usize) -> bool {
        let set = self.trie.get_or_insert(topic);
        let first = set.is_empty();
        set.insert(key);
        first
    }

    /// Unsubscribes pipe `key` from `topic`.
    pub fn remove(&mut self, topic: &[u8], key: usize) -> Removed {
        self.trie
            .change(topic, |set| {
                if !set.remove(key) {
                    Removed::NotFound
                } else if set.is_empty() {
                    Removed::Last
                } else {
                    Removed::OthersRemain
                }
            })
            .unwrap_or(Removed::NotFound)
    }

    /// Unsubscribes pipe `key` from everything, calling `f(topic, last)` for each topic it
    /// was subscribed to; `last` tells whether no subscriber remains. Costs a walk of the
    /// whole tree (done when a pipe goes, never per message).
    pub fn remove_pipe(&mut self, key: usize, mut f: impl FnMut(&[u8], bool)) {
        let mut topics = Vec::new();
        self.trie.for_each(|topic, set| {
            if set.contains(key) {
                topics.push(topic.to_vec());
            }
        });
        for topic in topics {
            let last = self.remove(&topic, key) == Removed::Last;
            f(&topic, last);
        }
    }

    /// Calls `f` with each pipe subscribed to a prefix of `data`; a pipe subscribed to
    /// several such prefixes is passed once per prefix.
    #[inline]
    pub fn for_each_match(&self, data: &[u8], mut f: impl FnMut(usize)) {
        self.trie.for_each_prefix_of(data, |set| {
            for &k in &set.0 {
                f(k)
            }
        })
    }

    /// The number of pipes subscribed to the empty topic, which matches every message.
    #[inline]
    pub fn to_everything(&self) -> usize {
        self.trie.root.value.0.len()
    }

    /// True if pipe `key` is subscribed to `topic`.
    pub fn contains(&self, topic: &[u8], key: usize) -> bool {
        self.trie.get(topic).is_some_and(|s| s.contains(key))
    }

    /// The number of distinct topics with at least one subscriber (ZMQ_TOPICS_COUNT).
    pub fn len(&self) -> usize {
        self.trie.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trie.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// A small deterministic PRNG (xorshift64*) for the property tests.
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// A short string over a three-letter alphabet, so that prefixes collide often.
        pub(crate) fn topic(&mut self, max_len: u64) -> Vec<u8> {
            let len = self.below(max_len + 1);
            (0..len).map(|_| b"abc"[self.below(3) as usize]).collect()
        }
    }

    /// Checks the radix-tree shape: labels non-empty below the root, children sorted with
    /// distinct first bytes, and no useless node (empty with fewer than two children).
    fn check_shape<V: Value>(t: &Trie<V>) {
        let mut stack = vec![(&t.root, true)];
        while let Some((node, is_root)) = stack.pop() {
            if !is_root {
                assert!(!node.label.is_empty(), "empty label below the root");
                assert!(
                    !node.value.is_empty() || node.children.len() >= 2,
                    "node that should have been pruned or merged"
                );
            }
            for w in node.children.windows(2) {
                assert!(w[0].label[0] < w[1].label[0], "children out of order");
            }
            stack.extend(node.children.iter().map(|c| (c, false)));
        }
    }

    #[test]
    fn prefix_matching() {
        let mut s = Subscriptions::default();
        assert!(!s.matches(b"anything"));
        assert!(s.add(b"abc"));
        assert!(s.matches(b"abc"));
        assert!(s.matches(b"abcdef"));
        assert!(!s.matches(b"ab"));
        assert!(!s.matches(b"abd"));
        assert!(s.add(b"ab"));
        assert!(s.matches(b"ab"));
        assert!(s.add(b""));
        assert!(s.matches(b""));
        assert!(s.matches(b"zzz"));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn counted_subscriptions() {
        let mut s = Subscriptions::default();
        assert!(s.add(b"t"));
        assert!(!s.add(b"t"));
        assert!(!s.remove(b"t"));
        assert!(s.matches(b"topic"));
        assert!(s.remove(b"t"));
        assert!(!s.matches(b"topic"));
        assert!(!s.remove(b"t"), "cancelling an unknown topic is harmless");
        assert!(!s.remove(b"never"));
        assert!(s.is_empty());
    }

    #[test]
    fn split_and_merge_keep_keys() {
        let mut s = Subscriptions::default();
        s.add(b"abcdef");
        s.add(b"abcxyz");
        s.add(b"abc");
        s.add(b"abcdeg");
        check_shape(&s.trie);
        s.remove(b"abc");
        s.remove(b"abcxyz");
        check_shape(&s.trie);
        let mut keys = Vec::new();
        s.for_each(|k| keys.push(k.to_vec()));
        assert_eq!(keys, vec![b"abcdef".to_vec(), b"abcdeg".to_vec()]);
        s.remove(b"abcdef");
        s.remove(b"abcdeg");
        assert!(s.is_empty());
    }

    #[test]
    fn subscribers_are_a_set_per_topic() {
        let mut s = Subscribers::default();
        assert!(s.add(b"a", 1));
        assert!(!s.add(b"a", 2));
        assert!(!s.add(b"a", 1), "a repeated subscribe is not a new topic");
        assert_eq!(s.remove(b"a", 1), Removed::OthersRemain);
        assert_eq!(s.remove(b"a", 1), Removed::NotFound);
        assert_eq!(s.remove(b"a", 2), Removed::Last);
        assert_eq!(s.remove(b"zz", 2), Removed::NotFound);
        assert!(s.is_empty());
    }

    #[test]
    fn remove_pipe_reports_each_topic() {
        let mut s = Subscribers::default();
        s.add(b"", 1);
        s.add(b"x", 1);
        s.add(b"x", 2);
        s.add(b"xy", 1);
        let mut seen = Vec::new();
        s.remove_pipe(1, |t, last| seen.push((t.to_vec(), last)));
        assert_eq!(
            seen,
            vec![
                (b"".to_vec(), true),
                (b"x".to_vec(), false),
                (b"xy".to_vec(), true)
            ]
        );
        let mut m = Vec::new();
        s.for_each_match(b"xyz", |k| m.push(k));
        assert_eq!(m, vec![2]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn long_topics_do_not_recurse() {
        // Nested topics deeper than a recursive walk could go on this thread's small stack.
        let run = || {
            let mut s = Subscribers::default();
            let topic = vec![b'a'; 4000];
            for n in 0..=topic.len() {
                s.add(&topic[..n], 7);
            }
            let mut hits = 0;
            s.for_each_match(&topic, |_| hits += 1);
            assert_eq!(hits, topic.len() + 1);
            let mut n = 0;
            s.remove_pipe(7, |_, last| {
                assert!(last);
                n += 1
            });
            assert_eq!(n, topic.len() + 1);
            assert!(s.is_empty());
            for n in 0..=topic.len() {
                s.add(&topic[..n], 7);
            }
            drop(s);
        };
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    /// Random subscribe/cancel sequences against a map of counts.
    #[test]
    fn property_subscriptions_match_a_naive_model() {
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let mut s = Subscriptions::default();
            let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
            for _ in 0..300 {
                let t = rng.topic(5);
                if rng.below(3) == 0 {
                    let was = model.get(&t).copied().unwrap_or(0);
                    let last = s.remove(&t);
                    assert_eq!(last, was == 1, "seed {seed}: remove {t:?}");
                    if was > 0 {
                        if was == 1 {
                            model.remove(&t);
                        } else {
                            model.insert(t, was - 1);
                        }
                    }
                } else {
                    let new = s.add(&t);
                    let c = model.entry(t).or_insert(0);
                    *c += 1;
                    assert_eq!(new, *c == 1, "seed {seed}");
                }
                let data = rng.topic(7);
                let expect = model.keys().any(|k| data.starts_with(k));
                assert_eq!(s.matches(&data), expect, "seed {seed}: match {data:?}");
            }
            check_shape(&s.trie);
            let mut keys = Vec::new();
            s.trie.for_each(|k, &n| keys.push((k.to_vec(), n)));
            let expect: Vec<_> = model.into_iter().collect();
            assert_eq!(keys, expect, "seed {seed}");
        }
    }

    /// Random per-pipe subscribe/cancel/pipe-removal sequences against a map of sets.
    #[test]
    fn property_subscribers_match_a_naive_model() {
        for seed in 0..200 {
            let mut rng = Rng::new(1000 + seed);
            let mut s = Subscribers::default();
            let mut model: BTreeMap<Vec<u8>, BTreeSet<usize>> = BTreeMap::new();
            for _ in 0..300 {
                let t = rng.topic(4);
                let key = rng.below(5) as usize;
                match rng.below(10) {
                    0 => {
                        let mut got = Vec::new();
                        s.remove_pipe(key, |t, last| got.push((t.to_vec(), last)));
                        let mut expect = Vec::new();
                        for (t, set) in model.iter_mut() {
                            if set.remove(&key) {
                                expect.push((t.clone(), set.is_empty()));
                            }
                        }
                        model.retain(|_, set| !set.is_empty());
                        assert_eq!(got, expect, "seed {seed}: remove_pipe {key}");
                    }
                    1..=3 => {
                        let set = model.entry(t.clone()).or_default();
                        let expect = if !set.remove(&key) {
                            Removed::NotFound
                        } else if set.is_empty() {
                            Removed::Last
                        } else {
                            Removed::OthersRemain
                        };
                        if set.is_empty() {
                            model.remove(&t);
                        }
                        assert_eq!(s.remove(&t, key), expect, "seed {seed}");
                    }
                    _ => {
                        let set = model.entry(t.clone()).or_default();
                        let first = set.is_empty();
                        set.insert(key);
                        assert_eq!(s.add(&t, key), first, "seed {seed}");
                    }
                }
                let data = rng.topic(6);
                let mut got = BTreeSet::new();
                s.for_each_match(&data, |k| {
                    got.insert(k);
                });
                let expect: BTreeSet<usize> = model
                    .iter()
                    .filter(|(k, _)| data.starts_with(k))
                    .flat_map(|(_, set)| set.iter().copied())
                    .collect();
                assert_eq!(got, expect, "seed {seed}: match {data:?}");
            }
            check_shape(&s.trie);
            assert_eq!(s.len(), model.len());
            for (t, set) in &model {
                for &k in set {
                    assert!(s.contains(t, k));
                }
            }
        }
    }
}
