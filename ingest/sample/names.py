"""Word lists and builders for synthetic Sparkify names, titles, places and browsers."""

from __future__ import annotations

import random

# Letters whose lower(upper(x)) differs from lower(x) (such as "ß") are left out on purpose:
# a case-insensitive match must find a play whose title was upper-cased.

FEMALE_FIRST = (
    "Sylvie", "Lily", "Jacqueline", "Kate", "Chloe", "Ava", "Tegan", "Aleena", "Rylan",
    "Jayden", "Layla", "Stefany", "Anabelle", "Kaylee", "Cecilia", "Katherine", "Amira",
    "Ariana", "Emma", "Olivia", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Madison", "Zoë", "Noémie", "Françoise", "Inés", "Björk", "Åsa",
    "Renée", "Chloé", "Mónica", "Paula", "Hannah", "Grace", "Aubrey", "Savannah", "Brooklyn",
)
MALE_FIRST = (
    "Ryan", "Wyatt", "Aiden", "Jacob", "Kevin", "Lucas", "Matthew", "Noah", "Theodore", "Liam",
    "Ethan", "Mason", "Logan", "Elijah", "Oliver", "Benjamin", "James", "Alexander", "Daniel",
    "Henry", "Sebastian", "Jack", "Owen", "Samuel", "Carter", "Jayden", "Dylan", "Luke", "Gabriel",
    "Isaac", "Anthony", "Joshua", "José", "Björn", "Søren", "Jürgen", "François", "Ñico",
    "Andrés", "Joël", "Emil", "Tom", "Cuinn", "Bryc", "Spencer", "Jordan",
)
LAST_NAMES = (
    "Cruz", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Koch", "Schwartz", "Moreno",
    "Lynch", "Fischer", "O'Brien", "O'Connor", "D'Angelo", "Núñez", "Müller", "Ångström",
    "Lindqvist", "Björkman", "Garçon", "Peña", "Díaz", "Jiménez", "Sørensen", "Ekström",
)
NICKNAMES = ("Big", "Lil", "Smokey", "Kid", "Doc", "Slim", "Duke", "Ace", "Red", "Sugar")
ADJECTIVES = (
    "Black", "Blue", "Red", "Golden", "Silver", "Electric", "Broken", "Wild", "Lonely", "Sweet",
    "Dark", "Bright", "Cold", "Burning", "Silent", "Crazy", "Little", "Big", "Lost", "Holy",
    "Velvet", "Crystal", "Midnight", "Summer", "Winter", "Endless", "Hidden", "Fallen", "Savage",
    "Gentle", "Restless", "Neon", "Rusty", "Hollow", "Magic", "Paper", "Secret", "Strange",
    "Young", "Ancient", "Frozen", "Purple", "Green", "Easy", "Heavy", "Lazy", "Royal", "Sacred",
    "Über", "Mötley", "Fjäll", "Brûlée", "Naïve", "Señorita", "Mañana", "Café", "Déjà", "Noël",
)
NOUNS = (
    "Heart", "Night", "Dream", "River", "Fire", "Rain", "Road", "Love", "Soul", "Moon", "Sun",
    "Star", "Light", "Shadow", "Angel", "Devil", "Train", "Highway", "City", "Ocean", "Mountain",
    "Garden", "Window", "Mirror", "Ghost", "Wolf", "Bird", "Rose", "Thunder", "Storm", "Wind",
    "Echo", "Memory", "Kiss", "Tear", "Smile", "Song", "Dance", "Party", "Summer", "Radio",
    "Diamond", "Bullet", "Cowboy", "Queen", "King", "Baby", "Sister", "Brother", "Mother",
    "Machine", "Engine", "Rocket", "Planet", "Island", "Desert", "Forest", "Valley", "Bridge",
    "Street", "Avenue", "Hotel", "Station", "Harbor", "Castle", "Kingdom", "Empire", "Revolution",
    "Paradise", "Heaven", "Hell", "Money", "Honey", "Whiskey", "Coffee", "Sugar", "Candy",
    "Corazón", "Niño", "Garçon", "Fräulein", "Smörgås", "Señor", "Ångest", "Zürich", "Café",
    "Mädchen", "Amor", "Canción", "Été", "Fête", "Kärlek",
)
PLURALS = (
    "Kings", "Wolves", "Ghosts", "Angels", "Strangers", "Lovers", "Riders", "Pilots", "Dreamers",
    "Shadows", "Monkeys", "Tigers", "Foxes", "Ravens", "Saints", "Sinners", "Brothers", "Sisters",
    "Machines", "Rebels", "Vampires", "Pirates", "Cowboys", "Drifters", "Hearts", "Bones",
    "Stones", "Flames", "Waves", "Echoes", "Stars", "Bandits", "Hornets", "Diamonds", "Roses",
)
VERBS = (
    "Stop", "Leave", "Forget", "Love", "Kiss", "Hold", "Call", "Take", "Break", "Save", "Run",
    "Dance", "Cry", "Wait", "Fall", "Believe", "Remember", "Touch", "Follow", "Find", "Tell",
)
PHRASES = (
    "Don't {verb} Me", "I'm {adj}", "You're The One", "It's {adj}", "Can't {verb} This",
    "We'll {verb} Again", "She's A {noun}", "Ain't No {noun}", "Rock 'n' Roll {noun}",
    "{noun}'s {noun}", "Won't {verb} You", "Let's {verb}", "Goin' {adj}",
)
SUFFIXES = (
    "(Live)", "(Remix)", "(Album Version)", "(Radio Edit)", "(Acoustic)", "(Remastered 2009)",
    "(LP Version)", "(Demo)", "(Instrumental)", "(Extended Mix)", "(Live at the BBC)",
    "(Original Mix)", "(Explicit)", "(Part II)",
)
CJK = (
    "夜空", "月光", "東京", "桜", "風", "雨", "青い", "花火", "星", "海", "愛", "夢", "光", "心",
    "山田", "鈴木", "佐藤", "花子", "太郎", "北京", "上海", "春", "秋", "雪", "道",
)
CJK_PARTICLES = ("の", "と", "に", "へ", "")
CONNECTORS = (" & ", " feat. ", " / ", " Featuring ", " and ", " vs. ", " With ", ";")
ARTIST_LOCATIONS = (
    ("California - LA", 34.05349, -118.24532), ("New York, NY", 40.71455, -74.00712),
    ("London, England", 51.50632, -0.12714), ("Hamilton, Ontario, Canada", 43.26044, -79.87234),
    ("Chicago, IL", 41.88415, -87.63241), ("Detroit, MI", 42.33168, -83.04792),
    ("Nashville, TN", 36.16778, -86.77836), ("Stockholm, Sweden", 59.33217, 18.06243),
    ("München, Germany", 48.13641, 11.57753), ("Montréal, Québec, Canada", 45.51228, -73.55439),
    ("São Paulo, Brazil", -23.56287, -46.65468), ("Reykjavík, Iceland", 64.13548, -21.89541),
    ("Tokyo, Japan", 35.68693, 139.74946), ("Kingston, Jamaica", 17.99702, -76.79358),
    ("Paris, France", 48.85693, 2.3412), ("Dublin, Ireland", 53.34376, -6.24953),
    ("Austin, TX", 30.26759, -97.74299), ("Seattle, WA", 47.60356, -122.32944),
    ("Atlanta, GA", 33.74831, -84.39111), ("Memphis, TN", 35.14968, -90.04892),
    ("Liverpool, England", 53.41057, -2.97794), ("Göteborg, Sweden", 57.70068, 11.96734),
    ("Oslo, Norway", 59.91228, 10.74998), ("Berlin", 52.51607, 13.37698),
    ("Toronto, Ontario, Canada", 43.64856, -79.38533), ("Brooklyn, NY", 40.65507, -73.94888),
    ("Los Angeles, CA", 34.05349, -118.24532), ("Glasgow, Scotland", 55.85711, -4.24392),
    ("Melbourne, Australia", -37.81753, 144.96715), ("Hollywood", 34.09832, -118.32706),
    ("Texas", 31.1689, -100.07715), ("Oakland, CA", 37.80506, -122.27302),
    ("Zürich, Switzerland", 47.37174, 8.54226), ("Köln, Germany", 50.94168, 6.95517),
    ("Barcelona, Spain", 41.38531, 2.18111), ("Ciudad de México", 19.43261, -99.13321),
    ("Kraków, Poland", 50.06045, 19.93242), ("Helsinki, Finland", 60.17116, 24.93258),
    ("Bronx/Harlem, NY", 40.84985, -73.86641), ("Minneapolis/St. Paul, MN", 44.97903, -93.26493),
)
US_METROS = (
    "New York-Newark-Jersey City, NY-NJ-PA", "Los Angeles-Long Beach-Anaheim, CA",
    "Chicago-Naperville-Elgin, IL-IN-WI", "Dallas-Fort Worth-Arlington, TX",
    "Houston-The Woodlands-Sugar Land, TX", "Washington-Arlington-Alexandria, DC-VA-MD-WV",
    "Miami-Fort Lauderdale-West Palm Beach, FL", "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD",
    "Atlanta-Sandy Springs-Roswell, GA", "Boston-Cambridge-Newton, MA-NH",
    "Phoenix-Mesa-Scottsdale, AZ", "San Francisco-Oakland-Hayward, CA",
    "Riverside-San Bernardino-Ontario, CA", "Detroit-Warren-Dearborn, MI",
    "Seattle-Tacoma-Bellevue, WA", "Minneapolis-St. Paul-Bloomington, MN-WI",
    "San Diego-Carlsbad, CA", "Tampa-St. Petersburg-Clearwater, FL",
    "Denver-Aurora-Lakewood, CO", "St. Louis, MO-IL", "Baltimore-Columbia-Towson, MD",
    "Charlotte-Concord-Gastonia, NC-SC", "Orlando-Kissimmee-Sanford, FL",
    "San Antonio-New Braunfels, TX", "Portland-Vancouver-Hillsboro, OR-WA",
    "Sacramento--Roseville--Arden-Arcade, CA", "Pittsburgh, PA", "Las Vegas-Henderson-Paradise, NV",
    "Cincinnati, OH-KY-IN", "Kansas City, MO-KS", "Columbus, OH",
    "Indianapolis-Carmel-Anderson, IN", "Cleveland-Elyria, OH",
    "San Jose-Sunnyvale-Santa Clara, CA",
    "Nashville-Davidson--Murfreesboro--Franklin, TN", "Virginia Beach-Norfolk-Newport News, VA-NC",
    "Providence-Warwick, RI-MA", "Milwaukee-Waukesha-West Allis, WI", "Jacksonville, FL",
    "Memphis, TN-MS-AR", "Louisville/Jefferson County, KY-IN", "Salt Lake City, UT",
    "New Orleans-Metairie, LA", "Birmingham-Hoover, AL", "Lansing-East Lansing, MI",
    "Winston-Salem, NC", "Red Bluff, CA",
)
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.77.4 (KHTML, like Gecko) "
    "Version/7.0.5 Safari/537.77.4",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.3; WOW64; rv:32.0) Gecko/20100101 Firefox/32.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 "
    "(KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (iPad; CPU OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) "
    "Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 5.1) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
)


def person(rng: random.Random) -> str:
    """A person's name such as `Zoë O'Brien`."""
    first = rng.choice(FEMALE_FIRST if rng.random() < 0.5 else MALE_FIRST)
    return f"{first} {rng.choice(LAST_NAMES)}"


def _cjk(rng: random.Random, parts: int) -> str:
    words = [rng.choice(CJK) for _ in range(parts)]
    return rng.choice(CJK_PARTICLES).join(words)


def _artist_base(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.30:
        return person(rng)
    if roll < 0.45:
        return f"The {rng.choice(ADJECTIVES)} {rng.choice(PLURALS)}"
    if roll < 0.55:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    if roll < 0.62:
        return f"{person(rng)} & The {rng.choice(PLURALS)}"
    if roll < 0.68:
        first, last = person(rng).split(" ", 1)
        return f'{first} "{rng.choice(NICKNAMES)}" {last}'
    if roll < 0.74:
        return f"DJ {rng.choice(NOUNS)}" if rng.random() < 0.5 else f"MC {rng.choice(NOUNS)}"
    if roll < 0.80:
        return f"{rng.choice(NOUNS)}'s {rng.choice(PLURALS)}"
    if roll < 0.85:
        return _cjk(rng, rng.randint(1, 2))
    return f"{rng.choice(NOUNS)} {rng.choice(PLURALS)}"


def artist_name(rng: random.Random) -> str:
    """An artist name; some are collaborations joined with `&`, `feat.`, `/`."""
    base = _artist_base(rng)
    if rng.random() < 0.12:
        return f"{base}{rng.choice(CONNECTORS)}{_artist_base(rng)}"
    return base


def _words(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.25:
        return rng.choice(NOUNS)
    if roll < 0.50:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    if roll < 0.65:
        return rng.choice(PHRASES).format(
            verb=rng.choice(VERBS), adj=rng.choice(ADJECTIVES), noun=rng.choice(NOUNS))
    if roll < 0.75:
        return f"{rng.choice(VERBS)} The {rng.choice(NOUNS)}"
    if roll < 0.85:
        return f"{rng.choice(NOUNS)} Of The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(NOUNS)}"


def song_title(rng: random.Random) -> str:
    """A song title with the punctuation and scripts real titles have."""
    roll = rng.random()
    if roll < 0.05:
        return f"{_cjk(rng, rng.randint(2, 3))}"
    if roll < 0.10:
        return f'"{_words(rng)}"'
    if roll < 0.15:
        return f"{_words(rng)} / {_words(rng)}"
    if roll < 0.20:
        return f"{rng.choice(NOUNS)} & {rng.choice(NOUNS)}"
    if roll < 0.25:
        return f"{_words(rng)} (feat. {person(rng)})"
    if roll < 0.28:
        return f"{rng.choice(NOUNS)}:{_words(rng)}"
    if roll < 0.45:
        return f"{_words(rng)} {rng.choice(SUFFIXES)}"
    return _words(rng)


def artist_location(rng: random.Random) -> tuple[str, float, float]:
    """A free-text artist location with its approximate coordinates."""
    return rng.choice(ARTIST_LOCATIONS)
