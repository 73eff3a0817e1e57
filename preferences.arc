# Preferences for the local sandbox (`npm start`, `npm test`). The app's own settings
# are environment variables (README, "Settings") and the @queues keys of app.arc.
@sandbox
env testing        # local tables and the plugin's local queue endpoints are the "testing" environment
livereload false   # a JSON API: no browser page to reload

@create
autocreate false   # a missing handler is an error, not a generated stub
