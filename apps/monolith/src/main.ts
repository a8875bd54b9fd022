import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { hello } from '@app/event-sourcing';
@Module({})
class AppModule {}
const app = await NestFactory.create(AppModule);
console.log('HELLO', hello());
await app.close();
