"""The Python template's data and token code, as its models and controllers write it.

Used by python-template.test.ts through Debian's /usr/bin/python3 (python3-sqlalchemy,
python3-passlib, python3-jose, python3-bcrypt). Every command prints one JSON value.

  create-db <sqlite-url> <name:password>...   the seed's users table + passlib bcrypt hashes
  check-login <sqlite-url> <name> <password>  the seed's login query + passlib verify
  mint <secret> <sub> <seconds>               python-jose HS256 token, exp = now + seconds
  verify <secret> <token>                     python-jose decode with algorithms=["HS256"]
"""
import json
import sys
from datetime import datetime, timedelta

from jose import JWTError, jwt
from passlib.context import CryptContext
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()
pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")


class User(Base):
    """models/user.py of the seed."""

    __tablename__ = "users"
    id = Column(Integer, primary_key=True, index=True)
    username = Column(String, unique=True, index=True)
    hashed_password = Column(String)


def session_for(url):
    engine = create_engine(url, connect_args={"check_same_thread": False})
    return engine, sessionmaker(autocommit=False, autoflush=False, bind=engine)()


def create_db(url, *pairs):
    engine, db = session_for(url)
    Base.metadata.create_all(bind=engine)
    for pair in pairs:
        name, password = pair.split(":", 1)
        db.add(User(username=name, hashed_password=pwd_context.hash(password)))
    db.commit()
    return [u.username for u in db.query(User).order_by(User.id)]


def check_login(url, name, password):
    _, db = session_for(url)
    user = db.query(User).filter(User.username == name).first()
    return bool(user and pwd_context.verify(password, user.hashed_password))


def mint(secret, sub, seconds):
    expire = datetime.utcnow() + timedelta(seconds=int(seconds))
    return jwt.encode({"sub": sub, "exp": expire}, secret, algorithm="HS256")


def verify(secret, token):
    try:
        return jwt.decode(token, secret, algorithms=["HS256"])
    except JWTError as error:
        return {"error": str(error)}


COMMANDS = {"create-db": create_db, "check-login": check_login, "mint": mint, "verify": verify}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
