"""Songs and artists: what is played, and how much of it matches the song catalogue."""

from dashboards.ui import marts_page
from ingest.report.pages import SONGS

marts_page(SONGS, "The top songs and artists, and the plays matched to a song of the "
           "catalogue per day: the matching rate is this data set's headline quality figure.")
