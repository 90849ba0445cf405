//! The line a prompt is typing: text and a cursor, with the editing keys of a
//! shell's line editor (readline's emacs keys): move by character or word,
//! to either end, delete either side, kill a word or the line.

/// An edit to the prompt's line; keys become these in [`super::keys`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Insert(char),
    /// Backspace: the character before the cursor.
    DeleteBack,
    /// Delete: the character under the cursor.
    DeleteForward,
    Left,
    Right,
    WordLeft,
    WordRight,
    Home,
    End,
    /// Ctrl-U: everything before the cursor.
    KillToStart,
    /// Ctrl-K: everything from the cursor on.
    KillToEnd,
    /// Ctrl-W, Alt-Backspace: the word before the cursor (and the blanks
    /// between it and the cursor).
    KillWordBack,
    /// Alt-D: the word after the cursor.
    KillWordForward,
}

/// A line being typed. The cursor is a character index from 0 (before the
/// first character) to the length (after the last).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line {
    chars: Vec<char>,
    cursor: usize,
}

impl Line {
    /// `text`, with the cursor at its end (where typing goes on).
    pub fn new(text: &str) -> Line {
        let chars: Vec<char> = text.chars().collect();
        let cursor = chars.len();
        Line { chars, cursor }
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The text before the cursor, the character under it (`None` at the
    /// end) and the text after it: how the prompt draws it.
    pub fn parts(&self) -> (String, Option<char>, String) {
        let before = self.chars[..self.cursor].iter().collect();
        let at = self.chars.get(self.cursor).copied();
        let after = self
            .chars
            .get(self.cursor + 1..)
            .unwrap_or_default()
            .iter()
            .collect();
        (before, at, after)
    }

    pub fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Insert(c) => {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            Edit::DeleteBack => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    self.chars.remove(self.cursor);
                }
            }
            Edit::DeleteForward => {
                if self.cursor < self.chars.len() {
                    self.chars.remove(self.cursor);
                }
            }
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(self.chars.len()),
            Edit::WordLeft => self.cursor = self.word_start(),
            Edit::WordRight => self.cursor = self.word_end(),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = self.chars.len(),
            Edit::KillToStart => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            Edit::KillToEnd => self.chars.truncate(self.cursor),
            Edit::KillWordBack => {
                let start = self.word_start();
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            Edit::KillWordForward => {
                let end = self.word_end();
                self.chars.drain(self.cursor..end);
            }
        }
    }

    /// The start of the word before the cursor: back over blanks, then over
    /// the word's characters.
    fn word_start(&self) -> usize {
        let mut i = self.cursor;
        while i > 0 && !is_word(self.chars[i - 1]) {
            i -= 1;
        }
        while i > 0 && is_word(self.chars[i - 1]) {
            i -= 1;
        }
        i
    }

    /// The end of the word at or after the cursor.
    fn word_end(&self) -> usize {
        let n = self.chars.len();
        let mut i = self.cursor;
        while i < n && !is_word(self.chars[i]) {
            i += 1;
        }
        while i < n && is_word(self.chars[i]) {
            i += 1;
        }
        i
    }
}

/// A word is letters and digits, as readline's word motions take it: `.`,
/// `/`, `-`, spaces and quotes separate words, so Ctrl-W on
/// `saves/run-2.toml` takes `toml` first.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(text: &str, cursor_from_end: usize, edits: &[Edit]) -> (String, usize) {
        let mut l = Line::new(text);
        for _ in 0..cursor_from_end {
            l.apply(Edit::Left);
        }
        for &e in edits {
            l.apply(e);
        }
        (l.text(), l.cursor())
    }

    #[test]
    fn typing_goes_in_at_the_cursor() {
        assert_eq!(
            edited("5s", 1, &[Edit::Insert('.'), Edit::Insert('2')]),
            ("5.2s".into(), 3)
        );
        assert_eq!(
            edited("ab", 0, &[Edit::Home, Edit::Insert('+')]),
            ("+ab".into(), 1)
        );
    }

    #[test]
    fn deleting_either_side_of_the_cursor() {
        assert_eq!(edited("abc", 1, &[Edit::DeleteBack]), ("ac".into(), 1));
        assert_eq!(edited("abc", 1, &[Edit::DeleteForward]), ("ab".into(), 2));
        // Nothing to delete at either end: nothing happens.
        assert_eq!(edited("abc", 3, &[Edit::DeleteBack]), ("abc".into(), 0));
        assert_eq!(edited("abc", 0, &[Edit::DeleteForward]), ("abc".into(), 3));
    }

    #[test]
    fn ctrl_u_and_ctrl_k_kill_either_side() {
        assert_eq!(
            edited("save/me.toml", 4, &[Edit::KillToStart]),
            ("toml".into(), 0)
        );
        assert_eq!(
            edited("save/me.toml", 4, &[Edit::KillToEnd]),
            ("save/me.".into(), 8)
        );
        // Ctrl-U at the end clears the line.
        assert_eq!(edited("anything", 0, &[Edit::KillToStart]), ("".into(), 0));
    }

    #[test]
    fn words_are_letters_and_digits() {
        // Ctrl-W from the end takes `toml`, then `.` and `found`.
        assert_eq!(
            edited("raft-seed7-found.toml", 0, &[Edit::KillWordBack]),
            ("raft-seed7-found.".into(), 17)
        );
        assert_eq!(
            edited(
                "raft-seed7-found.toml",
                0,
                &[Edit::KillWordBack, Edit::KillWordBack]
            ),
            ("raft-seed7-".into(), 11)
        );
        // Blanks before the cursor go with the word.
        assert_eq!(
            edited("n1 n2  ", 0, &[Edit::KillWordBack]),
            ("n1 ".into(), 3)
        );
        assert_eq!(
            edited("n1 n2 n3", 8, &[Edit::KillWordForward]),
            (" n2 n3".into(), 0)
        );
        assert_eq!(edited("n1 n2 n3", 8, &[Edit::WordRight]).1, 2);
        assert_eq!(edited("n1 n2 n3", 0, &[Edit::WordLeft]).1, 6);
        assert_eq!(
            edited("n1 n2 n3", 0, &[Edit::WordLeft, Edit::WordLeft]).1,
            3
        );
    }

    #[test]
    fn motion_stops_at_the_ends() {
        let mut l = Line::new("ab");
        l.apply(Edit::Right);
        assert_eq!(l.cursor(), 2);
        for _ in 0..5 {
            l.apply(Edit::Left);
        }
        assert_eq!(l.cursor(), 0);
        l.apply(Edit::WordLeft);
        l.apply(Edit::KillWordBack);
        assert_eq!((l.text(), l.cursor()), ("ab".into(), 0));
        l.apply(Edit::End);
        l.apply(Edit::WordRight);
        l.apply(Edit::KillWordForward);
        assert_eq!((l.text(), l.cursor()), ("ab".into(), 2));
    }

    #[test]
    fn parts_split_at_the_cursor() {
        let mut l = Line::new("héllo");
        l.apply(Edit::Left);
        l.apply(Edit::Left);
        assert_eq!(l.parts(), ("hél".into(), Some('l'), "o".into()));
        l.apply(Edit::End);
        assert_eq!(l.parts(), ("héllo".into(), None, "".into()));
    }
}
