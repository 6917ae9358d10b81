"""The only package that imports aiogram: bot and dispatcher factories, routers, rendering."""
