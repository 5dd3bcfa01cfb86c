# Made the repository, but never committed anything.
cd project
git init
