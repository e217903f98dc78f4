//! The training corpus, written by the project itself: short, simple English stories put
//! together from templates with a seeded random generator (the same corpus on every run). No
//! downloaded data. Small on purpose: a model of a few hundred thousand parameters trained for a
//! few minutes can learn its grammar and its little plots.

use crate::rng::Rng;

#[derive(Clone, Copy)]
struct Hero {
    name: &'static str,
    /// he / she
    subj: &'static str,
    /// him / her
    obj: &'static str,
    /// his / her
    poss: &'static str,
    /// boy / girl
    kind: &'static str,
}

const fn girl(name: &'static str) -> Hero {
    Hero {
        name,
        subj: "she",
        obj: "her",
        poss: "her",
        kind: "girl",
    }
}

const fn boy(name: &'static str) -> Hero {
    Hero {
        name,
        subj: "he",
        obj: "him",
        poss: "his",
        kind: "boy",
    }
}

const HEROES: [Hero; 20] = [
    girl("Lily"),
    girl("Mia"),
    girl("Anna"),
    girl("Sara"),
    girl("Emma"),
    girl("Lucy"),
    girl("Amy"),
    girl("Zoe"),
    girl("Kim"),
    girl("Ella"),
    boy("Tom"),
    boy("Ben"),
    boy("Sam"),
    boy("Max"),
    boy("Leo"),
    boy("Tim"),
    boy("Jack"),
    boy("Dan"),
    boy("Bob"),
    boy("Joe"),
];

const ANIMALS: [&str; 12] = [
    "cat", "dog", "bird", "frog", "duck", "bunny", "fox", "bear", "fish", "mouse", "puppy",
    "kitten",
];
const TOYS: [&str; 12] = [
    "ball", "kite", "doll", "car", "boat", "drum", "train", "book", "hat", "box", "truck", "teddy",
];
const PLACES: [&str; 10] = [
    "park", "garden", "forest", "beach", "farm", "lake", "hill", "school", "town", "river",
];
const COLORS: [&str; 8] = [
    "red", "blue", "green", "yellow", "pink", "big", "little", "shiny",
];
const FEELINGS_GOOD: [&str; 5] = ["happy", "glad", "proud", "excited", "thankful"];
const FEELINGS_BAD: [&str; 4] = ["sad", "scared", "worried", "upset"];
const FOODS: [&str; 8] = [
    "apple", "cake", "cookie", "banana", "sandwich", "pie", "carrot", "muffin",
];
const WEATHER: [&str; 5] = [
    "It was a sunny day.",
    "The sun was warm and bright.",
    "It was a windy day.",
    "The sky was blue.",
    "It was a cold morning.",
];
const PARENTS: [&str; 4] = ["mom", "dad", "grandma", "grandpa"];
const PLAYS: [&str; 6] = [
    "run and jump",
    "play games",
    "sing songs",
    "dance",
    "draw pictures",
    "build a tower",
];

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o' | b'u') => "an",
        _ => "a",
    }
}

/// The plots of [`story`]: 0 a lost toy found, 1 a hungry animal fed, 2 learning to share,
/// 3 caught in the rain, 4 a toy in a tree, 5 baking with a parent.
pub const PLOTS: usize = 6;
/// The plot the LoRA adapter `rainy` is trained on.
pub const RAIN: usize = 3;

/// One story: a hero, an opening, a small plot with a problem and its solution, an ending. The
/// plot is `plot`, or drawn at random.
fn story(r: &mut Rng, plot: Option<usize>) -> String {
    let h = *r.pick(&HEROES);
    let mut f = *r.pick(&HEROES);
    while f.name == h.name {
        f = *r.pick(&HEROES);
    }
    let animal = *r.pick(&ANIMALS);
    let toy = *r.pick(&TOYS);
    let place = *r.pick(&PLACES);
    let color = *r.pick(&COLORS);
    let good = *r.pick(&FEELINGS_GOOD);
    let bad = *r.pick(&FEELINGS_BAD);
    let food = *r.pick(&FOODS);
    let parent = *r.pick(&PARENTS);
    let play = *r.pick(&PLAYS);
    let (n, s, o, p, k) = (h.name, h.subj, h.obj, h.poss, h.kind);
    let (cs, cp) = (cap(s), cap(p));
    let mut out = String::new();
    let mut say = |line: String| {
        out.push_str(&line);
        out.push(' ');
    };
    match r.below(3) {
        0 => say(format!(
            "Once upon a time, there was a little {k} named {n}."
        )),
        1 => say(format!("One day, a {k} named {n} went to the {place}.")),
        _ => say(format!("{n} was a little {k} who loved to {play}.")),
    }
    if r.below(2) == 0 {
        say(r.pick(&WEATHER).to_string());
    }
    match plot.unwrap_or_else(|| r.below(PLOTS)) {
        0 => {
            say(format!(
                "{n} had a {color} {toy}. {cs} loved {p} {toy} very much."
            ));
            say(format!(
                "One day, {s} went to the {place} to play with {p} {toy}."
            ));
            say(format!(
                "But the {toy} was lost! {n} looked and looked, but {s} could not find it."
            ));
            say(format!("{n} was {bad}. {cs} started to cry."));
            say(format!(
                "Then {s} saw a {animal}. The {animal} had the {toy}!"
            ));
            say(format!(
                "\"Is this your {toy}?\" asked the {animal}. \"Yes, thank you!\" said {n}."
            ));
            say(format!(
                "{n} was {good}. {cs} and the {animal} became friends and played all day."
            ));
        }
        1 => {
            say(format!(
                "At the {place}, {n} saw a little {animal}. The {animal} was {bad}."
            ));
            say(format!("\"What is wrong?\" asked {n}."));
            say(format!(
                "\"I am hungry,\" said the {animal}. \"I have no food.\""
            ));
            say(format!(
                "{n} had {} {food} in {p} bag. {cs} gave the {food} to the {animal}.",
                article(food)
            ));
            say(format!(
                "The {animal} ate the {food} and said, \"Thank you, {n}! You are very kind.\""
            ));
            say(format!("{n} felt {good}. Sharing made {o} happy."));
        }
        2 => {
            say(format!(
                "{n} wanted to play with {}, but {} did not want to share {} {toy}.",
                f.name, f.subj, f.poss
            ));
            say(format!("{n} was {bad}. {cs} went to {p} {parent}."));
            say(format!(
                "\"{} will not share,\" said {n}. {} {parent} smiled and said, \"Ask nicely, and share your toys too.\"",
                f.name, cp
            ));
            say(format!(
                "So {n} went back and said, \"Can we play together? You can use my {color} {toy}.\""
            ));
            say(format!(
                "{} smiled. \"Yes, let's play!\" {} said.",
                f.name,
                cap(f.subj)
            ));
            say(format!(
                "{n} and {} played together all day. They were {good}.",
                f.name
            ));
        }
        3 => {
            say(format!(
                "{n} and {} went to the {place}. They wanted to {play}.",
                f.name
            ));
            say("Suddenly, it started to rain. The rain was cold, and they got wet.".to_string());
            say(format!(
                "\"Let's go home!\" said {}. They ran home as fast as they could.",
                f.name
            ));
            say(format!(
                "At home, {p} {parent} gave them warm milk and {} {food}.",
                article(food)
            ));
            say(format!(
                "They sat by the window and watched the rain. {n} felt {good}."
            ));
        }
        4 => {
            say(format!(
                "{n} saw a tall tree at the {place}. At the top of the tree, there was a {color} {toy}."
            ));
            say(format!(
                "{n} wanted the {toy}, but the tree was too high. {cs} felt {bad}."
            ));
            say(format!(
                "Then a {animal} came. \"I can help you,\" said the {animal}."
            ));
            say(format!(
                "The {animal} climbed up the tree and got the {toy} for {n}."
            ));
            say(format!(
                "\"Thank you!\" said {n}. {cs} was very {good}, and {s} gave the {animal} a big hug."
            ));
        }
        _ => {
            say(format!(
                "{n} liked to help {p} {parent}. One day, {p} {parent} was baking {} {food}.",
                article(food)
            ));
            say(format!(
                "\"Can I help?\" asked {n}. \"Yes, you can,\" said {p} {parent}."
            ));
            say(format!(
                "{n} mixed the flour and the milk. But {s} spilled the milk on the floor!"
            ));
            say(format!(
                "{n} was {bad}. \"I am sorry,\" {s} said. \"It is okay,\" said {p} {parent}. \"We can clean it up together.\""
            ));
            say(format!(
                "They cleaned the floor and finished the {food}. It was yummy, and {n} was {good}."
            ));
        }
    }
    match r.below(4) {
        0 => say("The end.".to_string()),
        1 => say(format!("From that day on, {n} was always kind to others.")),
        2 => say(format!("{n} learned that it is good to share and help.")),
        _ => {}
    }
    out.trim_end().to_string()
}

/// `n` stories from `seed`.
pub fn stories(seed: u64, n: usize) -> Vec<String> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| story(&mut r, None)).collect()
}

/// `n` stories from `seed`, every one with plot `plot` (`< PLOTS`): a LoRA adapter's corpus.
pub fn stories_of(seed: u64, n: usize, plot: usize) -> Vec<String> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| story(&mut r, Some(plot))).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn deterministic() {
        assert_eq!(super::stories(1, 50), super::stories(1, 50));
        assert_ne!(super::stories(1, 5), super::stories(2, 5));
        let rain = super::stories_of(1, 20, super::RAIN);
        assert!(rain.iter().all(|s| s.contains("it started to rain")));
    }
}
